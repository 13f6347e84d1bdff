//! Inputs for the property tests of every parser that reads network input: arbitrary bytes,
//! Graph's documented samples mutated (bytes replaced, deleted, inserted, truncated,
//! duplicated), and pathological shapes (deep nesting, long strings, huge numbers).
//!
//! Included by path (`#[path = ".../testdata/fuzz_support.rs"] mod fuzz_support;`) from the
//! property-test binaries of several crates, so the inputs are the same everywhere.
#![allow(dead_code)]

use proptest::prelude::*;

/// How many cases each property runs: bounded, so CI time stays small.
pub const CASES: u32 = 256;

/// The proptest configuration of the parser properties (no persistence files in the repo).
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every response body of the documented samples in `testdata/graph-samples`, as bytes.
pub fn sample_bodies() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/graph-samples");
    let mut bodies = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("the samples directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).expect("a sample file");
        let sample: serde_json::Value = serde_json::from_str(&text).expect("sample JSON");
        for exchange in sample["exchanges"].as_array().into_iter().flatten() {
            let body = &exchange["response"]["body"];
            if !body.is_null() {
                bodies.push(serde_json::to_vec(body).expect("a body serialises"));
            }
        }
    }
    assert!(
        bodies.len() > 30,
        "the samples were found: {}",
        bodies.len()
    );
    bodies
}

/// A documented sample with a few random edits.
pub fn mutated_sample() -> impl Strategy<Value = Vec<u8>> {
    mutated(sample_bodies())
}

/// One of `samples` with a few random edits.
pub fn mutated(samples: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(samples),
        prop::collection::vec((0u8..5, any::<prop::sample::Index>(), any::<u8>()), 1..8),
    )
        .prop_map(|(mut bytes, edits)| {
            for (op, at, byte) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    2 => bytes.insert(i, byte),
                    3 => bytes.truncate(i),
                    _ => {
                        let end = (i + 64).min(bytes.len());
                        let copy = bytes[i..end].to_vec();
                        bytes.splice(i..i, copy);
                    }
                }
            }
            bytes
        })
}

/// Deeply nested or oversized JSON-looking inputs.
pub fn pathological() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1usize..20_000).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..20_000).prop_map(|n| {
            format!("{}1{}", "{\"value\":".repeat(n), "}".repeat(n)).into_bytes()
        }),
        (1usize..20_000).prop_map(|n| {
            format!(r#"{{"value":[{{"id":"{}"}}]}}"#, "x".repeat(n)).into_bytes()
        }),
        (1usize..400).prop_map(|n| format!(r#"{{"expires_in":1{}}}"#, "0".repeat(n)).into_bytes()),
        Just(br##"{"value":[{"@odata.type":"#microsoft.graph.user","@odata.type":"#microsoft.graph.group"}]}"##.to_vec()),
        Just(b"\xef\xbb\xbf{}".to_vec()),
        Just(br#"{"value":"not a list","@odata.nextLink":5}"#.to_vec()),
    ]
}

/// Any of the above, or plain arbitrary bytes.
pub fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..2048),
        6 => mutated_sample(),
        1 => pathological(),
    ]
}

/// A header value as a server may send it: visible ASCII and spaces (what `http` accepts).
pub fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(0x20u8..0x7f, 0..200)
            .prop_map(|b| String::from_utf8(b).unwrap_or_default()),
        prop::sample::select(vec![
            "120",
            "2.128",
            "-5",
            "1e309",
            "NaN",
            "inf",
            "99999999999999999999999",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "",
            "Bearer error=\"insufficient_claims\", claims=\"eyJhY2Nlc3NfdG9rZW4iOnt9fQ==\"",
            "Bearer realm=\"\", error=insufficient_claims, claims=",
            "Bearer error=\"insufficient_claims\", claims=\"%%%%\"",
            "Bearer claims=\"e30=\", error=\"insufficient_claims\"",
            "error=\"insufficient_claims\",error=\"insufficient_claims\",claims=\"",
        ])
        .prop_map(str::to_string),
    ]
}
