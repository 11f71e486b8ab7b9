//! Column roles as the role selects see them: which column each role uses, and the full
//! set of overrides to hand to `Table::set_roles` when one select changes.

use labelcast_core::table::{Role, RoleOverrides, Roles};

/// Column index the table currently uses for `role`.
pub fn column_of(roles: &Roles, role: Role) -> Option<usize> {
    roles.get(role)
}

/// Overrides that pin every role to what the table uses now, except `role`, which gets
/// `column` ("" = no column). Pinning all six keeps a change of one select from letting
/// the core re-detect (and silently move) the others.
pub fn overrides_with(headers: &[String], roles: &Roles, role: Role, column: &str) -> RoleOverrides {
    let mut o = RoleOverrides::default();
    for r in Role::ALL {
        let current = column_of(roles, r).and_then(|i| headers.get(i)).cloned().unwrap_or_default();
        o.set(r, Some(current));
    }
    o.set(role, Some(column.to_string()));
    o
}

/// Human label of a role for the select's <label>.
pub fn label(role: Role) -> &'static str {
    match role {
        Role::Prompt => "Prompt",
        Role::Answer => "Answer",
        Role::System => "System prompt",
        Role::Category => "Category",
        Role::Difficulty => "Difficulty",
        Role::Id => "ID",
    }
}

/// One line on what the role is used for, shown under its select.
pub fn purpose(role: Role) -> &'static str {
    match role {
        Role::Prompt => "What the model is asked. Required.",
        Role::Answer => "The reference answer, where one is labeled.",
        Role::System => "An optional system prompt per row.",
        Role::Category => "Groups rows for blocked or interleaved ordering.",
        Role::Difficulty => "A number per row for curriculum ordering.",
        Role::Id => "A stable identifier to match rows later.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<String> {
        ["id", "question", "reply", "topic"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changing_one_role_pins_the_others() {
        let roles = Roles { prompt: Some(1), id: Some(0), ..Roles::default() };
        let o = overrides_with(&headers(), &roles, Role::Answer, "reply");
        assert_eq!(o.prompt.as_deref(), Some("question"));
        assert_eq!(o.id.as_deref(), Some("id"));
        assert_eq!(o.answer.as_deref(), Some("reply"));
        assert_eq!(o.category.as_deref(), Some(""));
        assert_eq!(o.system.as_deref(), Some(""));
        assert_eq!(o.difficulty.as_deref(), Some(""));
    }

    #[test]
    fn empty_column_clears_a_role() {
        let roles = Roles { prompt: Some(1), category: Some(3), ..Roles::default() };
        let o = overrides_with(&headers(), &roles, Role::Category, "");
        assert_eq!(o.category.as_deref(), Some(""));
        assert_eq!(o.prompt.as_deref(), Some("question"));
    }

    #[test]
    fn out_of_range_index_reads_as_no_column() {
        let roles = Roles { prompt: Some(99), ..Roles::default() };
        let o = overrides_with(&headers(), &roles, Role::Id, "id");
        assert_eq!(o.prompt.as_deref(), Some(""));
        assert_eq!(column_of(&roles, Role::Prompt), Some(99));
    }

    #[test]
    fn every_role_has_a_label_and_purpose() {
        for r in Role::ALL {
            assert!(!label(r).is_empty());
            assert!(!purpose(r).is_empty());
        }
    }
}
