//! insta snapshots of generated code for representative items, and the up-to-date check.

use codegen::csdl;
use codegen::emit::{self, HEADER};
use codegen::model::Model;

fn model() -> Model {
    let dir = env!("CARGO_MANIFEST_DIR");
    let meta = std::fs::read_to_string(format!("{dir}/metadata/cleanMetadata-v1.0.xml")).unwrap();
    let desc = std::fs::read_to_string(format!(
        "{dir}/metadata/cleanMetadataWithDescriptionsAndAnnotations-v1.0-2023-05-09.xml"
    ))
    .unwrap();
    let docs = csdl::parse_descriptions(&desc).unwrap();
    Model::build(csdl::parse(&meta).unwrap(), &docs)
}

/// The text of `pub fn {name}(` with its doc comment and body, from formatted code.
fn method(code: &str, name: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("pub fn {name}(")))
        .unwrap_or_else(|| panic!("no method {name}"));
    let mut start = at;
    while start > 0 && lines[start - 1].trim_start().starts_with(['/', '#']) {
        start -= 1;
    }
    let indent = lines[at].len() - lines[at].trim_start().len();
    let end = (at..lines.len())
        .find(|&i| lines[i].len() - lines[i].trim_start().len() == indent && lines[i].trim() == "}")
        .unwrap();
    lines[start..=end].join("\n")
}

#[test]
fn snapshots_of_representative_items() {
    let m = model();
    let model_of = |fqn: &str| emit::render_model(&m, fqn).unwrap().unwrap();
    let builders_of = |fqn: &str| emit::render_builders(&m, fqn).unwrap().unwrap();
    insta::assert_snapshot!("user_model", model_of("microsoft.graph.user"));
    insta::assert_snapshot!("user_builders", builders_of("microsoft.graph.user"));
    insta::assert_snapshot!("group_model", model_of("microsoft.graph.group"));
    insta::assert_snapshot!(
        "directory_object_model",
        model_of("microsoft.graph.directoryObject")
    );
    insta::assert_snapshot!(
        "directory_object_builders",
        builders_of("microsoft.graph.directoryObject")
    );
    insta::assert_snapshot!(
        "enum_with_unknown_future_value",
        model_of("microsoft.graph.accessEntityType")
    );
    insta::assert_snapshot!(
        "flags_enum",
        model_of("microsoft.graph.authenticationMethodModes")
    );
    let dir_builders = builders_of("microsoft.graph.directoryObject");
    let get_member_groups = format!(
        "{}\n\n{}",
        emit::render_action_body(&m, "microsoft.graph.directoryObject", "getMemberGroups")
            .unwrap()
            .unwrap(),
        method(&dir_builders, "get_member_groups")
    );
    insta::assert_snapshot!("action_get_member_groups", get_member_groups);
    insta::assert_snapshot!(
        "function_delta",
        method(&builders_of("microsoft.graph.user"), "delta")
    );
    // Referenced navigations: read-only memberOf with its casts, members with $ref, the
    // manager (single-valued, $ref).
    let user_builders = builders_of("microsoft.graph.user");
    insta::assert_snapshot!("user_member_of", method(&user_builders, "member_of"));
    insta::assert_snapshot!("user_manager", method(&user_builders, "manager"));
    insta::assert_snapshot!(
        "group_members",
        method(&builders_of("microsoft.graph.group"), "members")
    );
    insta::assert_snapshot!(
        "member_of_casts",
        reference_section("AdministrativeUnitDirectoryRoleGroupCasts")
    );
    // Streams: an `Edm.Stream` property (a drive item's content) and a media entity's `$value`
    // (a profile photo) are typed content requests.
    insta::assert_snapshot!(
        "drive_item_content",
        method(&builders_of("microsoft.graph.driveItem"), "content")
    );
    insta::assert_snapshot!(
        "profile_photo_value",
        method(&builders_of("microsoft.graph.profilePhoto"), "value")
    );
}

/// The marker of a cast set and its impl blocks, from the committed generated references
/// file (the up-to-date test below guarantees it matches the generator).
fn reference_section(marker: &str) -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let code = std::fs::read_to_string(format!(
        "{dir}/../graph-api/src/generated/builders/references.rs"
    ))
    .unwrap();
    // Items are separated by blank lines at the top level; keep those naming the marker.
    let mut items: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in code.lines() {
        current.push_str(line);
        current.push('\n');
        if line == "}" {
            items.push(std::mem::take(&mut current));
        }
    }
    items
        .into_iter()
        .map(|item| item.trim_start_matches('\n').to_string())
        .filter(|item| {
            item.contains(&format!(" {marker} {{}}")) || item.contains(&format!("{marker},"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn committed_generated_code_is_up_to_date_and_headed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        emit::run(dir, true, false).expect("generation runs"),
        "msgraph-typed-models or msgraph-typed is stale: run `cargo run -p codegen`"
    );
    for krate in [emit::MODELS_CRATE, emit::API_CRATE] {
        let generated = dir.join("..").join(krate).join("src/generated");
        let mut files = 0;
        let mut stack = vec![generated];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                assert_eq!(text.lines().next(), Some(HEADER), "{}", p.display());
                assert_eq!(text.matches(HEADER).count(), 1, "{}", p.display());
                files += 1;
            }
        }
        assert!(files > 10, "{krate}: only {files} generated files");
    }
}
