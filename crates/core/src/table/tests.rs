use super::*;

#[test]
fn format_from_name_and_content() {
    assert_eq!(Format::from_file_name("a/B.TSV"), Some(Format::Csv));
    assert_eq!(Format::from_file_name("x.ndjson"), Some(Format::Jsonl));
    assert_eq!(Format::from_file_name(".csv"), None);
    assert_eq!(Format::from_file_name("data"), None);
    assert_eq!(Format::sniff(b"\xEF\xBB\xBF  {\"a\":1}"), Format::Jsonl);
    assert_eq!(Format::sniff(b"[ {\"a\":1}]"), Format::Jsonl);
    assert_eq!(Format::sniff(b"[a],b"), Format::Csv);
}

#[test]
fn a_blank_answer_is_no_answer() {
    let rows = vec![vec!["a".into(), " yes ".into()], vec!["b".into(), " \t".into()], vec!["c".into(), "".into()]];
    let t = Table::from_rows("l.csv", vec!["prompt".into(), "answer".into()], rows).unwrap();
    assert_eq!((t.answer(0), t.answer(1), t.answer(2), t.answer(9)), (Some("yes"), None, None, None));
    let t = Table::from_rows("p.csv", vec!["prompt".into()], vec![vec!["a".into()]]).unwrap();
    assert_eq!(t.answer(0), None);
}

#[test]
fn rows_are_named_by_line_and_id() {
    let t = read_table("p.csv", b"id,prompt\nq-1,a\n,b\n", &ReadOptions::default()).unwrap();
    assert_eq!(
        (t.row_name(0), t.row_name(1), t.row_name(5)),
        ("line 2 (id q-1)".into(), "line 3".into(), "row 6".into())
    );
    let t = read_table("p.jsonl", b"{\"prompt\": \"a\"}\n\n{\"prompt\": \"b\"}\n", &ReadOptions::default()).unwrap();
    assert_eq!(t.row_name(1), "line 3");
}

#[test]
fn numbers_collect_every_problem() {
    let t = Table::from_rows(
        "s.csv",
        vec!["prompt".into(), "score".into()],
        vec![
            vec!["a".into(), " 1.5 ".into()],
            vec!["b".into(), "".into()],
            vec!["c".into(), "NaN".into()],
            vec!["d".into(), "1e400".into()],
        ],
    )
    .unwrap();
    let e = t.numbers(1).unwrap_err();
    let p = e.problems();
    assert_eq!(p.len(), 3);
    assert!(matches!(p[0], Error::MissingValue { at } if at.line == 3 && at.row == Some(2)));
    assert!(matches!(p[1], Error::NotANumber { value, .. } if value == "NaN"));
    let e = t.optional_numbers(1).unwrap_err();
    assert_eq!(e.problems().len(), 2);
    assert!(t.numbers(7).is_err());
}

#[test]
fn problems_are_capped() {
    let mut p = Problems::new("f");
    for i in 0..MAX_PROBLEMS + 5 {
        p.push(Error::MissingValue { at: loc("f", i + 1, None, None) });
    }
    let Err(Error::Many(v)) = p.finish() else { panic!() };
    assert_eq!(v.len(), MAX_PROBLEMS + 1);
    assert!(v[MAX_PROBLEMS].to_string().contains("5 more"));
}

#[test]
fn shorten_cuts_on_char_boundaries() {
    let s = "é".repeat(100);
    assert_eq!(shorten(&s).chars().count(), 61);
}
