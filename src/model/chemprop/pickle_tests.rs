//! Unit tests of the pickle machine (hostile and edge-case pickles).

use super::*;

#[test]
fn a_dict_subclass_keeps_its_items_and_shared_values_stay_shared() {
    // AttributeDict() via NEWOBJ, memoized, filled by SETITEMS after the PUT, then
    // fetched again from the memo: the items must be there (Python's semantics).
    let mut p = vec![0x80, 2, b'c'];
    p.extend_from_slice(b"m\nAttr\n");
    p.extend_from_slice(&[
        b')', 0x81, b'q', 0, b'(', 0x8c, 1, b'a', b'K', 7, b'u', b'0',
    ]);
    p.extend_from_slice(&[b'h', 0, b'.']);
    let v = load(&p).unwrap();
    assert_eq!(v.describe(), "m.Attr");
    assert!(matches!(v.get("a"), Some(Value::Int(7))));
}

#[test]
fn a_million_nested_lists_drop_without_overflowing_the_stack() {
    // `]` PUT 1; then per level: `]` PUT 0, APPEND (into the level below), POP, GET 0.
    let mut p = vec![0x80, 2, b']', b'r', 1, 0, 0, 0];
    for _ in 0..1_000_000 {
        p.extend_from_slice(&[b']', b'r', 0, 0, 0, 0, b'a', b'0', b'j', 0, 0, 0, 0]);
    }
    p.extend_from_slice(&[b'0', b'j', 1, 0, 0, 0, b'.']);
    let v = load(&p).unwrap();
    assert!(matches!(v, Value::List(_)));
    drop(v);
}

#[test]
fn truncated_and_unknown_opcodes_are_errors_not_panics() {
    assert!(load(&[0x80, 2, b'X', 5, 0, 0, 0, b'a']).is_err());
    assert!(load(&[0x80, 2, 0xff]).is_err());
    assert!(load(b"u").is_err());
    assert!(load(&[b'h', 3, b'.']).is_err());
    assert!(load(&[]).is_err());
}
