//! Column roles: which column holds the prompt, the answer, and so on, found by header name.

use super::{header_list, Problems};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Prompt,
    Answer,
    System,
    Category,
    Difficulty,
    Id,
}

impl Role {
    pub const ALL: [Role; 6] = [Role::Prompt, Role::Answer, Role::System, Role::Category, Role::Difficulty, Role::Id];

    pub fn name(self) -> &'static str {
        match self {
            Role::Prompt => "prompt",
            Role::Answer => "answer",
            Role::System => "system",
            Role::Category => "category",
            Role::Difficulty => "difficulty",
            Role::Id => "id",
        }
    }

    /// Header names (trimmed, case-insensitive, whole name only) that take this role, in
    /// priority order: the first alias present wins whatever its column position. Roles are
    /// given in `Role::ALL` order, so `instruction` is the prompt when nothing else is, and
    /// the system message beside an `input` or other prompt column (METHOD.md 1b: the task's
    /// instruction is the system message, as in the paper's code for `instruction,input,output`).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Role::Prompt => &["prompt", "input", "text", "question", "instruction"],
            Role::Answer => &["answer", "output", "label", "response", "ground_truth"],
            Role::System => &["system", "system_prompt", "instruction"],
            Role::Category => &["category", "task", "subject", "type"],
            Role::Difficulty => &["difficulty"],
            Role::Id => &["id"],
        }
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Role> {
        let key = s.trim().to_lowercase();
        Role::ALL.into_iter().find(|r| r.name() == key).ok_or_else(|| {
            let known: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
            Error::Invalid(format!("unknown column role \"{s}\"; known: {}", known.join(", ")))
        })
    }
}

/// Column index of each role, `None` when the table has no such column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub prompt: Option<usize>,
    pub answer: Option<usize>,
    pub system: Option<usize>,
    pub category: Option<usize>,
    pub difficulty: Option<usize>,
    pub id: Option<usize>,
}

impl Roles {
    pub fn get(&self, role: Role) -> Option<usize> {
        *self.slot(role)
    }

    pub fn set(&mut self, role: Role, col: Option<usize>) {
        *self.slot_mut(role) = col;
    }

    fn slot(&self, role: Role) -> &Option<usize> {
        match role {
            Role::Prompt => &self.prompt,
            Role::Answer => &self.answer,
            Role::System => &self.system,
            Role::Category => &self.category,
            Role::Difficulty => &self.difficulty,
            Role::Id => &self.id,
        }
    }

    fn slot_mut(&mut self, role: Role) -> &mut Option<usize> {
        match role {
            Role::Prompt => &mut self.prompt,
            Role::Answer => &mut self.answer,
            Role::System => &mut self.system,
            Role::Category => &mut self.category,
            Role::Difficulty => &mut self.difficulty,
            Role::Id => &mut self.id,
        }
    }

    /// Overrides first, then aliases for the roles left, skipping columns already taken so
    /// that e.g. `answer = "text"` lets the prompt fall to the next prompt alias.
    pub(crate) fn detect(file: &str, headers: &[String], o: &RoleOverrides) -> Result<Roles> {
        let mut roles = Roles::default();
        let mut taken = vec![false; headers.len()];
        let mut problems = Problems::new(file);
        for role in Role::ALL {
            let Some(name) = o.get(role) else { continue };
            if name.trim().is_empty() {
                continue;
            }
            match find_column(headers, name) {
                Some(i) => {
                    roles.set(role, Some(i));
                    taken[i] = true;
                }
                None => problems.push(Error::NoSuchColumn {
                    file: file.to_string(),
                    column: name.to_string(),
                    headers: header_list(headers),
                }),
            }
        }
        problems.finish()?;
        let normalized: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
        for role in Role::ALL.into_iter().filter(|&r| o.get(r).is_none()) {
            let found = role
                .aliases()
                .iter()
                .find_map(|alias| (0..headers.len()).find(|&i| !taken[i] && normalized[i] == *alias));
            if let Some(i) = found {
                roles.set(role, Some(i));
                taken[i] = true;
            }
        }
        Ok(roles)
    }
}

/// Column names chosen by the user per role. `None`: detect from the headers; `Some("")`:
/// this role has no column; `Some(name)`: that column (matched like [`super::Table::column`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleOverrides {
    pub prompt: Option<String>,
    pub answer: Option<String>,
    pub system: Option<String>,
    pub category: Option<String>,
    pub difficulty: Option<String>,
    pub id: Option<String>,
}

impl RoleOverrides {
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::Prompt => self.prompt.as_deref(),
            Role::Answer => self.answer.as_deref(),
            Role::System => self.system.as_deref(),
            Role::Category => self.category.as_deref(),
            Role::Difficulty => self.difficulty.as_deref(),
            Role::Id => self.id.as_deref(),
        }
    }

    pub fn set(&mut self, role: Role, column: Option<String>) {
        let slot = match role {
            Role::Prompt => &mut self.prompt,
            Role::Answer => &mut self.answer,
            Role::System => &mut self.system,
            Role::Category => &mut self.category,
            Role::Difficulty => &mut self.difficulty,
            Role::Id => &mut self.id,
        };
        *slot = column;
    }
}

/// Exact header match first, else the first header equal after trimming and lowercasing.
pub(crate) fn find_column(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| h == name).or_else(|| {
        let key = name.trim().to_lowercase();
        headers.iter().position(|h| h.trim().to_lowercase() == key)
    })
}

impl super::Table {
    /// The system message of `row`: its system (instruction) cell when that is not empty, else
    /// the task's `instruction`, given once for the whole pool (the CLI's `--instruction`, the
    /// page's task instruction field), when that is not blank. The one rule for the CLI and the
    /// page; cells are used as written, as the paper's code does.
    pub fn system_message(&self, row: usize, instruction: Option<&str>) -> Option<String> {
        let cell = self.role_value(row, Role::System).filter(|s| !s.is_empty());
        cell.or(instruction.filter(|s| !s.trim().is_empty())).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn alias_priority_beats_column_order() {
        let headers = h(&["Text", " PROMPT ", "label", "Output", "task_type", "Type", "ID"]);
        let r = Roles::detect("f", &headers, &RoleOverrides::default()).unwrap();
        assert_eq!(r.prompt, Some(1));
        assert_eq!(r.answer, Some(3));
        assert_eq!(r.category, Some(5));
        assert_eq!(r.id, Some(6));
        assert_eq!(r.system, None);
    }

    #[test]
    fn overrides_claim_columns_first() {
        let headers = h(&["prompt", "question", "gold"]);
        let o = RoleOverrides { answer: Some("PROMPT".into()), id: Some(String::new()), ..Default::default() };
        let r = Roles::detect("f", &headers, &o).unwrap();
        assert_eq!((r.prompt, r.answer, r.id), (Some(1), Some(0), None));
        let o = RoleOverrides { prompt: Some("nope".into()), answer: Some("nada".into()), ..Default::default() };
        let e = Roles::detect("f", &headers, &o).unwrap_err();
        assert_eq!(e.problems().len(), 2);
        assert!(e.to_string().contains("\"prompt\", \"question\", \"gold\""));
    }

    #[test]
    fn role_names_parse() {
        for r in Role::ALL {
            assert_eq!(r.name().parse::<Role>().unwrap(), r);
        }
        assert!("nope".parse::<Role>().is_err());
    }

    #[test]
    fn the_system_message_is_the_rows_cell_else_the_tasks_instruction() {
        use crate::table::{read_table, ReadOptions};
        let t = read_table("t.csv", b"instruction,input\nSay yes.,a\n,b\n", &ReadOptions::default()).unwrap();
        assert_eq!(t.system_message(0, Some("Be brief.")), Some("Say yes.".into()));
        assert_eq!(t.system_message(1, Some("Be brief.")), Some("Be brief.".into()));
        assert_eq!(t.system_message(1, Some("  ")), None);
        assert_eq!(t.system_message(1, None), None);
        let t = read_table("t.csv", b"prompt\na\n", &ReadOptions::default()).unwrap();
        assert_eq!(t.system_message(0, Some("Be brief.")), Some("Be brief.".into()));
    }
}
