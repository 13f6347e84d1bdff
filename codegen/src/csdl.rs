//! Parsing of OData CSDL (XML) documents into plain Rust structures.
//!
//! This layer is faithful to the document: names stay as written (aliases are not
//! yet resolved), every element remembers where it came from, and anything the
//! parser does not understand is recorded as a [`Diagnostic`] instead of failing.

use std::fmt;

/// A position in the source document (1-based line and column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    /// Line, starting at 1.
    pub line: u32,
    /// Column, starting at 1.
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Something the parser or the model builder could not map, with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub loc: Loc,
    /// What the problem is, including the element name.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
    }
}

/// A parsed CSDL document.
#[derive(Debug, Default)]
pub struct Document {
    /// The schemas, in document order.
    pub schemas: Vec<Schema>,
    /// Problems found while parsing.
    pub diagnostics: Vec<Diagnostic>,
}

/// One `<Schema>`.
#[derive(Debug, Default)]
pub struct Schema {
    /// The namespace, e.g. `microsoft.graph`.
    pub namespace: String,
    /// The alias, e.g. `graph`.
    pub alias: Option<String>,
    /// Entity types.
    pub entity_types: Vec<StructuredType>,
    /// Complex types.
    pub complex_types: Vec<StructuredType>,
    /// Enum types.
    pub enum_types: Vec<EnumType>,
    /// Actions and functions.
    pub operations: Vec<Operation>,
    /// The entity container, if this schema declares one.
    pub container: Option<Container>,
    /// Out-of-line annotations of navigation properties (`<Annotations Target="ns.type/nav">`),
    /// by target as written.
    pub navigation_annotations: Vec<(String, NavCapabilities)>,
}

/// An entity type or a complex type.
#[derive(Debug, Default)]
pub struct StructuredType {
    /// The simple name.
    pub name: String,
    /// The base type as written (may use an alias).
    pub base_type: Option<String>,
    /// `Abstract="true"`.
    pub is_abstract: bool,
    /// `OpenType="true"`.
    pub is_open: bool,
    /// `HasStream="true"`.
    pub has_stream: bool,
    /// Key property names (entity types only).
    pub key: Vec<String>,
    /// Structural properties.
    pub properties: Vec<Property>,
    /// Navigation properties.
    pub navigations: Vec<Navigation>,
    /// Source location.
    pub loc: Loc,
}

/// A structural property.
#[derive(Debug, Default)]
pub struct Property {
    /// The name as on the wire.
    pub name: String,
    /// The type as written, e.g. `Collection(graph.assignedLicense)`.
    pub type_name: String,
    /// `Nullable` (defaults to true).
    pub nullable: bool,
    /// Source location.
    pub loc: Loc,
}

/// A navigation property.
#[derive(Debug, Default)]
pub struct Navigation {
    /// The name as on the wire.
    pub name: String,
    /// The type as written.
    pub type_name: String,
    /// `ContainsTarget="true"`.
    pub contains_target: bool,
    /// What the navigation's inline capability annotations allow.
    pub capabilities: NavCapabilities,
    /// Source location.
    pub loc: Loc,
}

/// What the capability and validation annotations of a navigation property say, read the way
/// Microsoft's OData-to-OpenAPI conversion reads them (the absent ones keep their defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NavCapabilities {
    /// `NavigationRestrictions/Referenceable`: references can be added and removed (`$ref`).
    pub referenceable: Option<bool>,
    /// `NavigationRestrictions/Navigability` is `None`: no path goes through the navigation.
    pub not_navigable: bool,
    /// `InsertRestrictions/Insertable`: entities can be created through the navigation.
    pub insertable: Option<bool>,
    /// `UpdateRestrictions/Updatable`.
    pub updatable: Option<bool>,
    /// `DeleteRestrictions/Deletable`.
    pub deletable: Option<bool>,
    /// `IndexableByKey`: members can be addressed by key.
    pub indexable_by_key: Option<bool>,
    /// `Org.OData.Validation.V1.DerivedTypeConstraint`: the types that can occur there.
    pub derived_type_constraint: Option<Vec<String>>,
}

impl NavCapabilities {
    /// Reads the `<Annotation>` children of `node` (a navigation property or an out-of-line
    /// `<Annotations>` block).
    pub fn read(node: roxmltree::Node<'_, '_>) -> Self {
        let mut caps = Self::default();
        caps.merge_from(node);
        caps
    }

    /// Adds what the `<Annotation>` children of `node` say (later annotations win).
    pub fn merge_from(&mut self, node: roxmltree::Node<'_, '_>) {
        for a in node
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "Annotation")
        {
            let term = a.attribute("Term").unwrap_or_default();
            let term = term.rsplit('.').next().unwrap_or_default();
            let record_bool = |property: &str| -> Option<bool> {
                a.descendants()
                    .filter(|n| n.tag_name().name() == "PropertyValue")
                    .find(|n| n.attribute("Property") == Some(property))
                    .and_then(|n| n.attribute("Bool"))
                    .map(|b| b == "true")
            };
            match term {
                "NavigationRestrictions" => {
                    // Only the top-level Referenceable counts (RestrictedProperties records
                    // describe other properties).
                    if let Some(record) = a.children().find(|n| n.tag_name().name() == "Record") {
                        for pv in record
                            .children()
                            .filter(|n| n.tag_name().name() == "PropertyValue")
                        {
                            match pv.attribute("Property") {
                                Some("Referenceable") => {
                                    self.referenceable = pv.attribute("Bool").map(|b| b == "true")
                                }
                                Some("Navigability") => {
                                    let value = pv
                                        .attribute("EnumMember")
                                        .map(str::to_owned)
                                        .or_else(|| {
                                            pv.children()
                                                .find(|n| n.tag_name().name() == "EnumMember")
                                                .and_then(|n| n.text())
                                                .map(str::to_owned)
                                        })
                                        .unwrap_or_default();
                                    self.not_navigable = value.trim().ends_with("/None");
                                }
                                _ => {}
                            }
                        }
                    }
                }
                "InsertRestrictions" => {
                    self.insertable = record_bool("Insertable").or(self.insertable)
                }
                "UpdateRestrictions" => {
                    self.updatable = record_bool("Updatable").or(self.updatable)
                }
                "DeleteRestrictions" => {
                    self.deletable = record_bool("Deletable").or(self.deletable)
                }
                "IndexableByKey" => {
                    self.indexable_by_key = Some(a.attribute("Bool") != Some("false"))
                }
                "DerivedTypeConstraint" => {
                    self.derived_type_constraint = Some(
                        a.descendants()
                            .filter(|n| n.tag_name().name() == "String")
                            .filter_map(|n| n.text())
                            .map(|t| t.trim().to_owned())
                            .collect(),
                    )
                }
                _ => {}
            }
        }
    }
}

/// An enum type.
#[derive(Debug, Default)]
pub struct EnumType {
    /// The simple name.
    pub name: String,
    /// `IsFlags="true"`.
    pub is_flags: bool,
    /// Members in document order.
    pub members: Vec<EnumMember>,
    /// Source location.
    pub loc: Loc,
}

/// An enum member.
#[derive(Debug, Default)]
pub struct EnumMember {
    /// The name as on the wire.
    pub name: String,
    /// The numeric value, when given and valid.
    pub value: Option<i64>,
}

/// Action or function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    /// An OData action (POST).
    Action,
    /// An OData function (GET).
    Function,
}

/// An action or a function.
#[derive(Debug)]
pub struct Operation {
    /// Action or function.
    pub kind: OperationKind,
    /// The simple name.
    pub name: String,
    /// `IsBound="true"`.
    pub is_bound: bool,
    /// `IsComposable="true"`.
    pub is_composable: bool,
    /// Parameters; for a bound operation the first one is the binding parameter.
    pub parameters: Vec<Property>,
    /// The return type, if any.
    pub return_type: Option<Property>,
    /// Source location.
    pub loc: Loc,
}

/// The entity container.
#[derive(Debug, Default)]
pub struct Container {
    /// The container name.
    pub name: String,
    /// Entity sets: (name, entity type as written, location).
    pub entity_sets: Vec<(String, String, Loc)>,
    /// Singletons: (name, type as written, location).
    pub singletons: Vec<(String, String, Loc)>,
}

thread_local! {
    /// Line start offsets of the document being parsed (roxmltree's own lookup is linear).
    static LINE_STARTS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn index_lines(text: &str) {
    let starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    LINE_STARTS.with(|l| *l.borrow_mut() = starts);
}

fn loc_of(_doc: &roxmltree::Document<'_>, node: roxmltree::Node<'_, '_>) -> Loc {
    let offset = node.range().start;
    LINE_STARTS.with(|l| {
        let starts = l.borrow();
        let line = starts.partition_point(|&s| s <= offset).max(1);
        let start = starts.get(line - 1).copied().unwrap_or(0);
        Loc {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(offset - start + 1).unwrap_or(u32::MAX),
        }
    })
}

fn attr(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_owned)
}

fn flag(node: roxmltree::Node<'_, '_>, name: &str, default: bool) -> bool {
    match node.attribute(name) {
        Some(v) => v.eq_ignore_ascii_case("true"),
        None => default,
    }
}

/// Parses a CSDL document. XML syntax errors are returned as `Err` with their location;
/// anything else the parser does not understand becomes a diagnostic.
pub fn parse(text: &str) -> Result<Document, Diagnostic> {
    // Microsoft's files start with a UTF-8 byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    index_lines(text);
    let xml = roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        Diagnostic {
            loc: Loc {
                line: pos.row,
                col: pos.col,
            },
            message: format!("XML error: {e}"),
        }
    })?;
    let mut out = Document::default();
    for schema_node in xml
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Schema")
    {
        let schema = parse_schema(&xml, schema_node, &mut out.diagnostics);
        out.schemas.push(schema);
    }
    if out.schemas.is_empty() {
        out.diagnostics.push(Diagnostic {
            loc: loc_of(&xml, xml.root_element()),
            message: "no <Schema> element found".into(),
        });
    }
    Ok(out)
}

fn parse_schema(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> Schema {
    let mut schema = Schema {
        namespace: attr(node, "Namespace").unwrap_or_default(),
        alias: attr(node, "Alias"),
        ..Schema::default()
    };
    if schema.namespace.is_empty() {
        diags.push(Diagnostic {
            loc: loc_of(xml, node),
            message: "<Schema> without a Namespace".into(),
        });
    }
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "EntityType" => schema
                .entity_types
                .push(parse_structured(xml, child, diags)),
            "ComplexType" => schema
                .complex_types
                .push(parse_structured(xml, child, diags)),
            "EnumType" => schema.enum_types.push(parse_enum(xml, child, diags)),
            "Action" => {
                schema
                    .operations
                    .push(parse_operation(xml, child, OperationKind::Action, diags))
            }
            "Function" => {
                schema
                    .operations
                    .push(parse_operation(xml, child, OperationKind::Function, diags))
            }
            "EntityContainer" => schema.container = Some(parse_container(xml, child, diags)),
            // Out-of-line annotations of a navigation property (`ns.type/nav`) say what the
            // navigation allows; the others (descriptions are read apart) carry no shape.
            "Annotations" => {
                if let Some(target) = attr(child, "Target").filter(|t| t.contains('/')) {
                    let caps = NavCapabilities::read(child);
                    if caps != NavCapabilities::default() {
                        schema.navigation_annotations.push((target, caps));
                    }
                }
            }
            // Terms and type definitions carry no shape the SDK needs.
            "Annotation" | "Term" | "TypeDefinition" => {}
            other => diags.push(Diagnostic {
                loc: loc_of(xml, child),
                message: format!("unsupported schema element <{other}> ignored"),
            }),
        }
    }
    schema
}

fn named(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> String {
    match node.attribute("Name") {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => {
            diags.push(Diagnostic {
                loc: loc_of(xml, node),
                message: format!("<{}> without a Name", node.tag_name().name()),
            });
            String::new()
        }
    }
}

fn parse_property(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> Property {
    let type_name = attr(node, "Type").unwrap_or_else(|| {
        diags.push(Diagnostic {
            loc: loc_of(xml, node),
            message: format!("<{}> without a Type", node.tag_name().name()),
        });
        String::new()
    });
    Property {
        name: node.attribute("Name").unwrap_or_default().to_owned(),
        type_name,
        nullable: flag(node, "Nullable", true),
        loc: loc_of(xml, node),
    }
}

fn parse_structured(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> StructuredType {
    let mut ty = StructuredType {
        name: named(xml, node, diags),
        base_type: attr(node, "BaseType"),
        is_abstract: flag(node, "Abstract", false),
        is_open: flag(node, "OpenType", false),
        has_stream: flag(node, "HasStream", false),
        loc: loc_of(xml, node),
        ..StructuredType::default()
    };
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "Property" => {
                let p = parse_property(xml, child, diags);
                if p.name.is_empty() {
                    diags.push(Diagnostic {
                        loc: p.loc,
                        message: format!("property without a Name in {}", ty.name),
                    });
                } else {
                    ty.properties.push(p);
                }
            }
            "NavigationProperty" => {
                let p = parse_property(xml, child, diags);
                if p.name.is_empty() {
                    diags.push(Diagnostic {
                        loc: p.loc,
                        message: format!("navigation property without a Name in {}", ty.name),
                    });
                } else {
                    ty.navigations.push(Navigation {
                        name: p.name,
                        type_name: p.type_name,
                        contains_target: flag(child, "ContainsTarget", false),
                        capabilities: NavCapabilities::read(child),
                        loc: p.loc,
                    });
                }
            }
            "Key" => {
                ty.key = child
                    .children()
                    .filter(|n| n.tag_name().name() == "PropertyRef")
                    .filter_map(|n| attr(n, "Name"))
                    .collect();
            }
            "Annotation" => {}
            other => diags.push(Diagnostic {
                loc: loc_of(xml, child),
                message: format!("unsupported element <{other}> in type {} ignored", ty.name),
            }),
        }
    }
    ty
}

fn parse_enum(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> EnumType {
    let mut e = EnumType {
        name: named(xml, node, diags),
        is_flags: flag(node, "IsFlags", false),
        loc: loc_of(xml, node),
        members: Vec::new(),
    };
    for m in node
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "Member")
    {
        let name = named(xml, m, diags);
        if name.is_empty() {
            continue;
        }
        let value = match m.attribute("Value") {
            None => None,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    diags.push(Diagnostic {
                        loc: loc_of(xml, m),
                        message: format!(
                            "enum member {}.{name} has a non-integer Value {v:?}",
                            e.name
                        ),
                    });
                    None
                }
            },
        };
        e.members.push(EnumMember { name, value });
    }
    e
}

fn parse_operation(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    kind: OperationKind,
    diags: &mut Vec<Diagnostic>,
) -> Operation {
    let mut op = Operation {
        kind,
        name: named(xml, node, diags),
        is_bound: flag(node, "IsBound", false),
        is_composable: flag(node, "IsComposable", false),
        parameters: Vec::new(),
        return_type: None,
        loc: loc_of(xml, node),
    };
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "Parameter" => op.parameters.push(parse_property(xml, child, diags)),
            "ReturnType" => op.return_type = Some(parse_property(xml, child, diags)),
            _ => {}
        }
    }
    op
}

fn parse_container(
    xml: &roxmltree::Document<'_>,
    node: roxmltree::Node<'_, '_>,
    diags: &mut Vec<Diagnostic>,
) -> Container {
    let mut c = Container {
        name: named(xml, node, diags),
        ..Container::default()
    };
    for child in node.children().filter(|n| n.is_element()) {
        let loc = loc_of(xml, child);
        match child.tag_name().name() {
            "EntitySet" => match (attr(child, "Name"), attr(child, "EntityType")) {
                (Some(n), Some(t)) => c.entity_sets.push((n, t, loc)),
                _ => diags.push(Diagnostic {
                    loc,
                    message: "<EntitySet> without Name or EntityType".into(),
                }),
            },
            "Singleton" => match (attr(child, "Name"), attr(child, "Type")) {
                (Some(n), Some(t)) => c.singletons.push((n, t, loc)),
                _ => diags.push(Diagnostic {
                    loc,
                    message: "<Singleton> without Name or Type".into(),
                }),
            },
            // Unbound operation imports are not part of Graph v1.0's SDK surface.
            "ActionImport" | "FunctionImport" => diags.push(Diagnostic {
                loc,
                message: format!(
                    "<{}> {} not generated (use the raw request escape hatch)",
                    child.tag_name().name(),
                    child.attribute("Name").unwrap_or("?")
                ),
            }),
            _ => {}
        }
    }
    c
}

/// Documentation strings keyed by `namespace.Type` or `namespace.Type/member`.
pub type Descriptions = std::collections::HashMap<String, String>;

/// Reads `Org.OData.Core.V1.Description` annotations (inline, or in `<Annotations Target=..>`)
/// from a CSDL document. Aliases in targets are resolved to namespaces.
pub fn parse_descriptions(text: &str) -> Result<Descriptions, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let xml = roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        Diagnostic {
            loc: Loc {
                line: pos.row,
                col: pos.col,
            },
            message: format!("XML error in descriptions: {e}"),
        }
    })?;
    let mut aliases = Vec::new();
    for s in xml
        .descendants()
        .filter(|n| n.tag_name().name() == "Schema")
    {
        if let (Some(ns), Some(alias)) = (s.attribute("Namespace"), s.attribute("Alias")) {
            aliases.push((alias.to_owned(), ns.to_owned()));
        }
    }
    let resolve = |target: &str| -> String {
        for (alias, ns) in &aliases {
            if let Some(rest) = target.strip_prefix(alias.as_str())
                && rest.starts_with('.')
            {
                return format!("{ns}{rest}");
            }
        }
        target.to_owned()
    };
    let mut out = Descriptions::new();
    for a in xml.descendants().filter(|n| {
        n.tag_name().name() == "Annotation"
            && n.attribute("Term") == Some("Org.OData.Core.V1.Description")
    }) {
        let Some(text) = a.attribute("String") else {
            continue;
        };
        let Some(parent) = a.parent_element() else {
            continue;
        };
        let key = match parent.tag_name().name() {
            "Annotations" => parent.attribute("Target").map(resolve),
            "EntityType" | "ComplexType" | "EnumType" => {
                let ns = parent
                    .parent_element()
                    .and_then(|s| s.attribute("Namespace"))
                    .unwrap_or_default();
                parent.attribute("Name").map(|n| format!("{ns}.{n}"))
            }
            "Property" | "NavigationProperty" | "Member" => {
                let owner = parent.parent_element();
                let ns = owner
                    .and_then(|o| o.parent_element())
                    .and_then(|s| s.attribute("Namespace"))
                    .unwrap_or_default();
                match (
                    owner.and_then(|o| o.attribute("Name")),
                    parent.attribute("Name"),
                ) {
                    (Some(o), Some(p)) => Some(format!("{ns}.{o}/{p}")),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(key) = key {
            out.entry(key).or_insert_with(|| text.trim().to_owned());
        }
    }
    Ok(out)
}
