use labelcast_core::error::Location;
use labelcast_core::table::{read_table, write_csv, Format, ReadOptions, Role, RoleOverrides, Table, MAX_PROBLEMS};
use labelcast_core::Error;
use proptest::prelude::*;

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn loose() -> ReadOptions {
    ReadOptions { require_prompt: false, ..ReadOptions::default() }
}

fn read(text: &str) -> Table {
    read_table("data.csv", text.as_bytes(), &opts()).unwrap()
}

fn err(text: &[u8]) -> Error {
    read_table("data.csv", text, &opts()).unwrap_err()
}

fn at(line: usize, row: Option<usize>, column: Option<&str>) -> Location {
    Location { file: "data.csv".into(), line, row, column: column.map(String::from) }
}

fn fields(t: &Table) -> Vec<Vec<&str>> {
    t.rows.iter().map(|r| r.fields.iter().map(String::as_str).collect()).collect()
}

#[test]
fn bom_crlf_and_quoted_newlines() {
    let t = read("\u{FEFF}prompt,answer\r\n\"multi\r\nline, \"\"quoted\"\"\",42\r\nplain,\r\n");
    assert_eq!(t.headers, ["prompt", "answer"]);
    assert_eq!(fields(&t), [vec!["multi\r\nline, \"quoted\"", "42"], vec!["plain", ""]]);
    assert_eq!(t.rows[0].line, 2);
    assert_eq!(t.rows[1].line, 4);
    assert!(t.crlf());
    assert_eq!(t.format, Format::Csv);
    assert_eq!(t.to_csv(), "prompt,answer\r\n\"multi\r\nline, \"\"quoted\"\"\",42\r\nplain,\r\n");
}

#[test]
fn mixed_line_ends_blank_lines_and_no_final_newline() {
    let t = read("\n\nprompt,n\n1,2\r\n\r\n3,4\r5,6\n\n\n7,8");
    assert_eq!(fields(&t), [["1", "2"], ["3", "4"], ["5", "6"], ["7", "8"]]);
    assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4, 6, 7, 10]);
    assert_eq!(t.skipped_lines, [5, 8, 9]);
    assert!(!t.crlf());
    let t = read("prompt,n\n1,2\n\n\n");
    assert_eq!(t.len(), 1);
    assert!(t.skipped_lines.is_empty());
}

#[test]
fn tsv_and_semicolon_delimiters() {
    let t = read_table("x.TSV", b"prompt\tanswer\na,b\tc\n", &opts()).unwrap();
    assert_eq!(fields(&t), [["a,b", "c"]]);
    let t = read("prompt;answer\n\"a;b\";c\n");
    assert_eq!(fields(&t), [["a;b", "c"]]);
    assert_eq!(t.to_delimited('\t'), "prompt\tanswer\na;b\tc\n");
}

#[test]
fn header_only_is_an_empty_table() {
    let t = read("prompt,answer\n");
    assert!(t.is_empty());
}

#[test]
fn empty_file() {
    for text in [&b""[..], b"\xEF\xBB\xBF", b"  \r\n\n\t"] {
        assert_eq!(err(text), Error::EmptyFile("data.csv".into()));
    }
}

#[test]
fn unterminated_quote_names_the_opening_line() {
    let e = err(b"prompt,answer\na,b\nc,\"never\nclosed\n\nd,e\n");
    assert_eq!(e, Error::UnterminatedQuote { at: at(3, Some(2), Some("answer")) });
}

#[test]
fn text_after_a_closing_quote() {
    let e = err(b"prompt,answer\n\"a\nb\"x,c\n");
    assert_eq!(e, Error::BadQuote { at: at(3, Some(1), Some("prompt")) });
}

#[test]
fn quote_inside_unquoted_field_is_text() {
    assert_eq!(fields(&read("prompt\nA 5\" screen\n")), [["A 5\" screen"]]);
}

#[test]
fn invalid_utf8_gives_line_byte_and_column() {
    let e = err(b"prompt,answer\nok,ok\n\"two\nli\xFFne\",x\n");
    assert_eq!(e, Error::InvalidUtf8 { at: at(4, Some(2), Some("prompt")), byte: 3 });
    let e = err(b"\xFF\xFEp\x00");
    assert_eq!(e, Error::InvalidUtf8 { at: at(1, None, None), byte: 1 });
}

#[test]
fn ragged_rows_are_all_reported() {
    let e = err(b"prompt,answer\na,b\nc\nd,e,f\n  \n");
    assert_eq!(
        e,
        Error::Many(vec![
            Error::RaggedRow { at: at(3, Some(2), None), expected: 2, found: 1 },
            Error::RaggedRow { at: at(4, Some(3), None), expected: 2, found: 3 },
        ])
    );
    assert_eq!(e.problems()[1].line(), Some(4));
}

#[test]
fn problems_of_every_kind_in_one_pass() {
    let e = err(b"prompt,prompt\n\"x\"y,1\n\xC3,2\n3\n");
    let kinds: Vec<String> =
        e.problems().iter().map(|p| format!("{p:?}").split([' ', '{']).next().unwrap().into()).collect();
    assert_eq!(kinds, ["DuplicateHeader", "BadQuote", "InvalidUtf8", "RaggedRow"]);
}

#[test]
fn too_many_problems_are_capped_and_counted() {
    let mut text = String::from("prompt,answer\n");
    for _ in 0..MAX_PROBLEMS + 10 {
        text.push_str("only\n");
    }
    let Error::Many(list) = err(text.as_bytes()) else { panic!() };
    assert_eq!(list.len(), MAX_PROBLEMS + 1);
    assert!(list.last().unwrap().to_string().contains("10 more problems"));
}

#[test]
fn duplicate_header() {
    let e = err(b"id,prompt, ID ,id\n");
    assert_eq!(e, Error::DuplicateHeader { file: "data.csv".into(), column: "id".into(), first: 1, second: 4 });
}

#[test]
fn no_prompt_column() {
    let e = err(b"question_text,gold\nq,a\n");
    let Error::NoPromptColumn { looked_for, headers, .. } = &e else { panic!("{e:?}") };
    assert_eq!(looked_for, "prompt, input, text, question, instruction");
    assert_eq!(headers, "\"question_text\", \"gold\"");
    let t = read_table("data.csv", b"question_text,gold\nq,a\n", &loose()).unwrap();
    assert_eq!(t.roles.prompt, None);
}

#[test]
fn too_many_rows() {
    let o = ReadOptions { max_rows: 2, ..opts() };
    assert!(read_table("data.csv", b"prompt\na\nb\n", &o).is_ok());
    let e = read_table("data.csv", b"prompt\na\nb\nc\n", &o).unwrap_err();
    assert_eq!(e, Error::TooManyRows { file: "data.csv".into(), max: 2 });
}

#[test]
fn role_detection_and_values() {
    let t = read("ID,Question,Text,Label,task_type,Subject,difficulty,System_Prompt,extra\n7,q,t,l,tt,s,0.5,sys,x\n");
    let r = t.roles;
    assert_eq!(
        (r.prompt, r.answer, r.system, r.category, r.difficulty, r.id),
        (Some(2), Some(3), Some(7), Some(5), Some(6), Some(0))
    );
    assert_eq!(t.role_value(0, Role::Prompt), Some("t"));
    assert_eq!(t.role_value(0, Role::Category), Some("s"));
    assert_eq!(t.role_value(1, Role::Prompt), None);
    assert_eq!(t.column(" extra ").unwrap(), 8);
    assert!(matches!(t.column("nope"), Err(Error::NoSuchColumn { .. })));
}

#[test]
fn an_instruction_beside_an_input_is_the_system_message_and_alone_the_prompt() {
    let t = read("instruction,input,output\nClassify the sentiment.,great film,positive\n");
    assert_eq!((t.roles.system, t.roles.prompt, t.roles.answer), (Some(0), Some(1), Some(2)));
    assert_eq!(t.role_value(0, Role::System), Some("Classify the sentiment."));
    let t = read("instruction,output\nName a colour.,red\n");
    assert_eq!((t.roles.prompt, t.roles.system), (Some(0), None));
    let t = read("system,prompt,instruction\ns,p,i\n");
    assert_eq!((t.roles.system, t.roles.prompt), (Some(0), Some(1)), "an explicit system column wins");
}

#[test]
fn role_overrides() {
    let o = ReadOptions {
        roles: RoleOverrides { prompt: Some("question".into()), category: Some(String::new()), ..Default::default() },
        ..opts()
    };
    let mut t = read_table("data.csv", b"prompt,question,category\na,b,c\n", &o).unwrap();
    assert_eq!((t.roles.prompt, t.roles.category), (Some(1), None));
    let e = t.set_roles(&RoleOverrides { answer: Some("gold".into()), ..Default::default() }).unwrap_err();
    assert_eq!(
        e,
        Error::NoSuchColumn {
            file: "data.csv".into(),
            column: "gold".into(),
            headers: "\"prompt\", \"question\", \"category\"".into()
        }
    );
    t.set_roles(&RoleOverrides::default()).unwrap();
    assert_eq!((t.roles.prompt, t.roles.category), (Some(0), Some(2)));
    let o = ReadOptions { roles: RoleOverrides { prompt: Some("nope".into()), ..Default::default() }, ..opts() };
    assert!(matches!(read_table("data.csv", b"prompt\na\n", &o), Err(Error::NoSuchColumn { .. })));
}

#[test]
fn numbers_locate_every_bad_value() {
    let t = read("prompt,score\na, 0.5 \nb,\nc,abc\nd,inf\n\"e\nf\",-1e3\n");
    let e = t.numbers(1).unwrap_err();
    assert_eq!(
        e,
        Error::Many(vec![
            Error::MissingValue { at: at(3, Some(2), Some("score")) },
            Error::NotANumber { at: at(4, Some(3), Some("score")), value: "abc".into() },
            Error::NotANumber { at: at(5, Some(4), Some("score")), value: "inf".into() },
        ])
    );
    let sub = t.select_rows(&[0, 1, 4]);
    assert_eq!(sub.optional_numbers(1).unwrap(), [Some(0.5), None, Some(-1000.0)]);
    assert_eq!(sub.select_rows(&[0, 2]).numbers(1).unwrap(), [0.5, -1000.0]);
}

#[test]
fn select_rows_and_push_column() {
    let mut t = read("prompt,answer\na,1\nb,2\nc,3\n");
    let s = t.select_rows(&[2, 0, 2, 99]);
    assert_eq!(fields(&s), [["c", "3"], ["a", "1"], ["c", "3"]]);
    assert_eq!(s.roles, t.roles);
    t.push_column("score", vec!["0.1".into(), "0.2".into(), "x,y".into()]).unwrap();
    assert_eq!(t.to_csv(), "prompt,answer,score\na,1,0.1\nb,2,0.2\nc,3,\"x,y\"\n");
    assert!(matches!(t.push_column(" score", vec![String::new(); 3]), Err(Error::DuplicateHeader { first: 3, .. })));
    assert!(matches!(t.push_column("other", vec![]), Err(Error::Invalid(_))));
    assert_eq!(t.to_jsonl(), "{\"prompt\":\"a\",\"answer\":\"1\",\"score\":\"0.1\"}\n{\"prompt\":\"b\",\"answer\":\"2\",\"score\":\"0.2\"}\n{\"prompt\":\"c\",\"answer\":\"3\",\"score\":\"x,y\"}\n");
}

#[test]
fn sniffed_without_extension() {
    let t = read_table("pasted", b"prompt,a\nx,y\n", &opts()).unwrap();
    assert_eq!(t.format, Format::Csv);
    let t = read_table("pasted", b" {\"prompt\": 1}\n", &opts()).unwrap();
    assert_eq!(t.format, Format::Jsonl);
}

#[test]
fn write_csv_helper() {
    let out = write_csv(&["a".into(), "b".into()], &[vec!["1".into(), " x".into()]]);
    assert_eq!(out, "a,b\n1,\" x\"\n");
}

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => any::<char>(),
        1 => prop::sample::select(vec!['"', ',', '\n', '\r', ';', '\t', ' ', '\u{FEFF}', '{', 'é']),
    ];
    prop::collection::vec(ch, 0..8).prop_map(|v| v.into_iter().collect())
}

fn table(min_rows: usize) -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    (1usize..5).prop_flat_map(move |cols| {
        let headers = prop::collection::vec(text(), cols).prop_filter("unique trimmed headers", |h| {
            let mut t: Vec<&str> = h.iter().map(|s| s.trim()).collect();
            t.sort_unstable();
            t.windows(2).all(|w| w[0] != w[1])
        });
        (headers, prop::collection::vec(prop::collection::vec(text(), cols), min_rows..6))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn csv_round_trip((headers, rows) in table(0), crlf in any::<bool>(), name in prop::sample::select(vec!["t.csv", "t.tsv", "pasted"])) {
        let mut t = Table::from_rows(name, headers.clone(), rows.clone()).unwrap();
        t.set_crlf(crlf);
        let text = if name.ends_with(".tsv") { t.to_delimited('\t') } else { t.to_csv() };
        let back = read_table(name, text.as_bytes(), &loose()).unwrap();
        prop_assert_eq!(&back.headers, &headers);
        let got: Vec<Vec<String>> = back.rows.iter().map(|r| r.fields.clone()).collect();
        prop_assert_eq!(got, rows);
        prop_assert_eq!(back.crlf(), crlf);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        for name in ["a.csv", "a.tsv", "a.jsonl", "a.json", "a"] {
            let _ = read_table(name, &bytes, &opts());
        }
    }

    #[test]
    fn csv_like_bytes_never_panic(bytes in prop::collection::vec(prop::sample::select(b"\",;\t\r\n a\xC3\xA9\xFF{}[]:".to_vec()), 0..120)) {
        for name in ["a.csv", "a"] {
            if let Ok(t) = read_table(name, &bytes, &loose()) {
                let _ = (t.to_csv(), t.to_jsonl());
                for r in &t.rows { prop_assert_eq!(r.fields.len(), t.headers.len()); }
            }
        }
    }

    #[test]
    fn ragged_rows_are_always_reported((headers, rows) in table(1), pick in any::<prop::sample::Index>(), grow in any::<bool>()) {
        let mut rows = rows;
        let i = pick.index(rows.len());
        if grow || rows[i].len() == 1 { rows[i].push("extra".into()) } else { rows[i].pop(); }
        let found = rows[i].len();
        let text = write_csv(&headers, &rows);
        let e = read_table("t.csv", text.as_bytes(), &loose()).unwrap_err();
        let hit = e.problems().into_iter().any(|p| matches!(p,
            Error::RaggedRow { at, expected, found: f } if at.row == Some(i + 1) && *expected == headers.len() && *f == found));
        prop_assert!(hit, "{:?}", e);
    }
}

/// `cargo test --release -p labelcast-core --test table_csv -- --ignored --nocapture`
#[test]
#[ignore = "100 MB; run in release to check parse speed"]
fn parses_100_mb_quickly() {
    let mut text = String::from("id,prompt,answer,category\n");
    let mut i = 0;
    while text.len() < 100 << 20 {
        i += 1;
        text.push_str(&format!("{i},\"What is {i} plus {i}, \"\"roughly\"\"?\nExplain.\",{},math\r\n", 2 * i));
    }
    let start = std::time::Instant::now();
    let t = read_table("big.csv", text.as_bytes(), &ReadOptions { max_rows: usize::MAX, ..opts() }).unwrap();
    let read = start.elapsed();
    assert_eq!(t.len(), i);
    let out = t.to_csv();
    eprintln!("{} rows: read {read:?}, read+write {:?} ({} MB out)", t.len(), start.elapsed(), out.len() >> 20);
}
