//! The README's unit-test example is a real test: `readme_unit_test.rs` runs it, and this test
//! checks that the README shows exactly that code (so the text cannot drift from what runs).

#[test]
fn the_readme_shows_the_unit_test_that_runs() {
    let readme = include_str!("../../README.md");
    let start = "<!-- unit-test example: examples/tests/readme_unit_test.rs must hold exactly this code -->\n```rust\n";
    let end = "```\n<!-- end of the unit-test example -->";
    let from = readme
        .find(start)
        .expect("the README marks its unit-test example")
        + start.len();
    let to = readme[from..].find(end).expect("the example ends") + from;
    assert_eq!(
        &readme[from..to],
        include_str!("readme_unit_test.rs"),
        "the README's unit-test example and examples/tests/readme_unit_test.rs differ"
    );
}
