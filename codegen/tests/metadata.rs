//! The generator against Microsoft's complete v1.0 metadata, and against broken input.

use codegen::csdl::{self, OperationKind};
use codegen::model::{Kind, Model};

fn metadata() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/metadata/cleanMetadata-v1.0.xml"
    );
    std::fs::read_to_string(path).expect("metadata file is in the repository")
}

fn model() -> Model {
    let doc = csdl::parse(&metadata()).expect("well-formed XML");
    assert!(
        doc.diagnostics.is_empty(),
        "parse diagnostics: {:?}",
        doc.diagnostics
    );
    Model::build(doc, &Default::default())
}

/// Counts measured independently on the file (grep / Python's ElementTree). PROVENANCE.md
/// says 1,779 complex types and 1,183 bound operations; the file itself holds 1,780
/// `<ComplexType>` and 857 + 324 = 1,181 `<Action>`/`<Function>` elements, 33 of them `delta`
/// (PROVENANCE.md: 34), and 1,048 contained navigations (PROVENANCE.md: 1,079).
#[test]
fn parses_the_complete_v1_metadata_with_zero_errors() {
    let m = model();
    assert!(
        m.diagnostics.is_empty(),
        "model diagnostics: {:#?}",
        m.diagnostics
    );
    let count = |k: Kind| m.types.iter().filter(|t| t.kind == k).count();
    assert_eq!(m.namespaces.len(), 11);
    assert_eq!(m.namespaces.iter().filter(|(_, a)| a.is_some()).count(), 5);
    assert_eq!(count(Kind::Entity), 1182);
    assert_eq!(count(Kind::Complex), 1780);
    let enums: Vec<_> = m.types.iter().filter(|t| t.kind == Kind::Enum).collect();
    assert_eq!(enums.len(), 861);
    assert_eq!(enums.iter().filter(|e| e.is_flags).count(), 64);
    let ufv =
        |e: &&codegen::model::TypeDef| e.members.iter().position(|x| x.0 == "unknownFutureValue");
    assert_eq!(enums.iter().filter(|e| ufv(e).is_some()).count(), 629);
    assert_eq!(
        enums
            .iter()
            .filter(|e| ufv(e).is_some_and(|i| i + 1 < e.members.len()))
            .count(),
        64,
        "enums with members after unknownFutureValue"
    );
    assert_eq!(m.operations.len(), 1181);
    assert_eq!(
        m.operations
            .iter()
            .filter(|o| o.kind == OperationKind::Action)
            .count(),
        857
    );
    assert_eq!(
        m.operations.iter().filter(|o| o.name == "delta").count(),
        33
    );
    assert_eq!(m.unbound_operations, 0);
    assert_eq!(m.duplicated_names().len(), 23);
    let navs: Vec<_> = m.types.iter().flat_map(|t| t.navs.iter()).collect();
    assert_eq!(navs.len(), 1432);
    assert_eq!(navs.iter().filter(|n| n.contained).count(), 1048);
    let dir = m.by_fqn["microsoft.graph.directoryObject"];
    assert_eq!(m.all_derived(dir).len(), 40);
    assert!(m.types.iter().any(|t| t.is_abstract));
    assert!(m.types[dir].is_open);
    assert!(m.roots.iter().any(|r| r.name == "me" && r.singleton));
    assert_eq!(m.roots.iter().filter(|r| !r.singleton).count(), 40);
    assert_eq!(m.roots.iter().filter(|r| r.singleton).count(), 30);
    // Aliases resolve: `self.user` in microsoft.graph.security is that namespace's user.
    let sec_user = m.by_fqn["microsoft.graph.security.user"];
    let base = m.types[sec_user].base.expect("has a base type");
    assert_eq!(
        m.types[base].fqn,
        "microsoft.graph.security.identityAccounts"
    );
}

#[test]
fn inheritance_flattens_base_properties() {
    let m = model();
    let user = m.by_fqn["microsoft.graph.user"];
    let lineage: Vec<&str> = m
        .lineage(user)
        .iter()
        .map(|&t| m.types[t].name.as_str())
        .collect();
    assert_eq!(lineage, ["entity", "directoryObject", "user"]);
    let props: Vec<&str> = m
        .all_props(user)
        .iter()
        .map(|(_, p)| p.name.as_str())
        .collect();
    assert_eq!(&props[..2], ["id", "deletedDateTime"]);
    assert!(props.contains(&"userPrincipalName"));
}

#[test]
fn malformed_xml_is_an_error_with_its_location() {
    let err = csdl::parse("<edmx:Edmx xmlns:edmx=\"x\">\n  <oops>\n</edmx:Edmx>").unwrap_err();
    assert_eq!(err.loc.line, 3, "{err}");
    assert!(err.message.contains("XML error"), "{err}");
}

#[test]
fn unmappable_items_are_reported_with_location_not_panics() {
    let xml = r#"<?xml version="1.0"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="entity" Abstract="true">
        <Key><PropertyRef Name="id" /></Key>
        <Property Name="id" Type="Edm.String" Nullable="false" />
      </EntityType>
      <EntityType Name="widget" BaseType="graph.entity">
        <Property Name="shape" Type="graph.doesNotExist" />
        <Property Name="where" Type="Edm.GeographyPoint" />
        <NavigationProperty Name="parts" Type="Collection(graph.part)" ContainsTarget="true" />
        <Frobnicate />
      </EntityType>
      <EntityType Name="loop" BaseType="graph.loop2" /><EntityType Name="loop2" BaseType="graph.loop" />
      <EnumType Name="color">
        <Member Name="red" Value="zero" />
      </EnumType>
      <Action Name="spin" IsBound="true">
        <Parameter Name="bindingParameter" Type="graph.nowhere" />
      </Action>
      <Function Name="unboundThing"><ReturnType Type="Edm.String" /></Function>
      <EntityContainer Name="GraphService">
        <EntitySet Name="widgets" EntityType="microsoft.graph.widget" />
        <Singleton Name="ghost" Type="microsoft.graph.ghost" />
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"#;
    let doc = csdl::parse(xml).expect("well-formed");
    let m = Model::build(doc, &Default::default());
    let text: Vec<String> = m.diagnostics.iter().map(ToString::to_string).collect();
    let has = |needle: &str, line: u32| {
        assert!(
            m.diagnostics
                .iter()
                .any(|d| d.message.contains(needle) && d.loc.line == line),
            "no diagnostic {needle:?} at line {line}: {text:#?}"
        )
    };
    has("unknown type graph.doesNotExist", 10);
    has("Edm.GeographyPoint has no precise mapping", 11);
    has("unknown type Collection(graph.part)", 12);
    has("unsupported element <Frobnicate>", 13);
    has("inheritance cycle", 15);
    has("non-integer Value", 17);
    has("unknown type graph.nowhere", 20);
    has("unbound operation", 22);
    has("unknown entity type microsoft.graph.ghost", 25);
    // What could be mapped still is.
    let widget = m.by_fqn["microsoft.graph.widget"];
    assert_eq!(
        m.types[widget].props.len(),
        1,
        "the Geography property is kept as JSON"
    );
    assert_eq!(m.roots.len(), 1);
    // And the emitter copes with the partial model.
    let out = codegen::emit::generate(&m).expect("generates");
    assert!(
        out.files
            .contains_key("graph-models/src/generated/models/mod.rs")
    );
}

#[test]
fn descriptions_become_doc_comments() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/metadata/cleanMetadataWithDescriptionsAndAnnotations-v1.0-2023-05-09.xml"
    );
    let docs = csdl::parse_descriptions(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(docs.len() > 5000, "{}", docs.len());
    assert!(docs["microsoft.graph.user/signInActivity"].starts_with("Get the last signed-in date"));
}
