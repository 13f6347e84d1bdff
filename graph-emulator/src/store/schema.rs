//! The property schema of each directory object type: names, value types, which properties Graph returns
//! by default, and which a client may write. `$select`, `$filter`, `$orderby` and PATCH validate against it.

/// The Edm-like type of a property, enough to validate writes and filter literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `Edm.String` (also GUIDs and enums serialised as strings).
    Str,
    /// `Edm.Boolean`.
    Bool,
    /// `Edm.Int32`.
    Int,
    /// `Edm.DateTimeOffset`, kept as an ISO 8601 string.
    DateTime,
    /// `Collection(Edm.String)`.
    StrList,
    /// A complex value or a collection of complex values (kept as JSON).
    Complex,
    /// A complex collection (kept as a JSON array; rendered `[]` when absent).
    ComplexList,
}

/// One property of a type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop {
    /// The property name, as on the wire (camelCase).
    pub name: &'static str,
    /// Its value type.
    pub ty: Ty,
    /// Returned when the request has no `$select`.
    pub default: bool,
    /// May be set on create or PATCH.
    pub writable: bool,
}

const fn p(name: &'static str, ty: Ty, default: bool, writable: bool) -> Prop {
    Prop {
        name,
        ty,
        default,
        writable,
    }
}

use Ty::*;

/// `microsoft.graph.user` (default set as documented for v1.0: the first eleven).
pub(crate) const USER: &[Prop] = &[
    p("businessPhones", StrList, true, true),
    p("displayName", Str, true, true),
    p("givenName", Str, true, true),
    p("jobTitle", Str, true, true),
    p("mail", Str, true, true),
    p("mobilePhone", Str, true, true),
    p("officeLocation", Str, true, true),
    p("preferredLanguage", Str, true, true),
    p("surname", Str, true, true),
    p("userPrincipalName", Str, true, true),
    p("id", Str, true, false),
    p("accountEnabled", Bool, false, true),
    p("ageGroup", Str, false, true),
    p("city", Str, false, true),
    p("companyName", Str, false, true),
    p("country", Str, false, true),
    p("createdDateTime", DateTime, false, false),
    p("creationType", Str, false, false),
    p("deletedDateTime", DateTime, false, false),
    p("department", Str, false, true),
    p("employeeId", Str, false, true),
    p("employeeType", Str, false, true),
    p("faxNumber", Str, false, true),
    p("identities", ComplexList, false, true),
    p("imAddresses", StrList, false, false),
    p("mailNickname", Str, false, true),
    p("onPremisesSyncEnabled", Bool, false, false),
    p("otherMails", StrList, false, true),
    p("passwordPolicies", Str, false, true),
    p("passwordProfile", Complex, false, true),
    p("postalCode", Str, false, true),
    p("proxyAddresses", StrList, false, false),
    p("state", Str, false, true),
    p("streetAddress", Str, false, true),
    p("usageLocation", Str, false, true),
    p("userType", Str, false, true),
];

/// `microsoft.graph.group` (default set as in the documented group list/get responses).
pub(crate) const GROUP: &[Prop] = &[
    p("id", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("classification", Str, true, true),
    p("createdDateTime", DateTime, true, false),
    p("creationOptions", StrList, true, false),
    p("description", Str, true, true),
    p("displayName", Str, true, true),
    p("expirationDateTime", DateTime, true, false),
    p("groupTypes", StrList, true, true),
    p("isAssignableToRole", Bool, true, true),
    p("mail", Str, true, false),
    p("mailEnabled", Bool, true, true),
    p("mailNickname", Str, true, true),
    p("membershipRule", Str, true, true),
    p("membershipRuleProcessingState", Str, true, true),
    p("onPremisesLastSyncDateTime", DateTime, true, false),
    p("onPremisesSecurityIdentifier", Str, true, false),
    p("onPremisesSyncEnabled", Bool, true, false),
    p("preferredDataLocation", Str, true, true),
    p("preferredLanguage", Str, true, true),
    p("proxyAddresses", StrList, true, false),
    p("renewedDateTime", DateTime, true, false),
    p("resourceBehaviorOptions", StrList, true, true),
    p("resourceProvisioningOptions", StrList, true, true),
    p("securityEnabled", Bool, true, true),
    p("securityIdentifier", Str, true, false),
    p("theme", Str, true, true),
    p("visibility", Str, true, true),
    p("onPremisesProvisioningErrors", ComplexList, true, false),
    p("allowExternalSenders", Bool, false, true),
    p("autoSubscribeNewMembers", Bool, false, true),
    p("hasMembersWithLicenseErrors", Bool, false, false),
    p("hideFromAddressLists", Bool, false, true),
    p("hideFromOutlookClients", Bool, false, true),
    p("isSubscribedByMail", Bool, false, false),
    p("unseenCount", Int, false, false),
];

/// `microsoft.graph.directoryRole`.
pub(crate) const DIRECTORY_ROLE: &[Prop] = &[
    p("id", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("description", Str, true, false),
    p("displayName", Str, true, false),
    p("roleTemplateId", Str, true, true),
];

/// `microsoft.graph.administrativeUnit`.
pub(crate) const ADMINISTRATIVE_UNIT: &[Prop] = &[
    p("id", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("displayName", Str, true, true),
    p("description", Str, true, true),
    p("visibility", Str, true, true),
];

/// `microsoft.graph.application`.
pub(crate) const APPLICATION: &[Prop] = &[
    p("id", Str, true, false),
    p("appId", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("createdDateTime", DateTime, true, false),
    p("description", Str, true, true),
    p("displayName", Str, true, true),
    p("identifierUris", StrList, true, true),
    p("publisherDomain", Str, true, false),
    p("signInAudience", Str, true, true),
    p("tags", StrList, true, true),
];

/// `microsoft.graph.servicePrincipal`.
pub(crate) const SERVICE_PRINCIPAL: &[Prop] = &[
    p("id", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("accountEnabled", Bool, true, true),
    p("appDisplayName", Str, true, false),
    p("appId", Str, true, false),
    p("appOwnerOrganizationId", Str, true, false),
    p("displayName", Str, true, true),
    p("servicePrincipalNames", StrList, true, true),
    p("servicePrincipalType", Str, true, false),
    p("signInAudience", Str, true, false),
    p("tags", StrList, true, true),
];

/// `microsoft.graph.device`.
pub(crate) const DEVICE: &[Prop] = &[
    p("id", Str, true, false),
    p("deletedDateTime", DateTime, true, false),
    p("accountEnabled", Bool, true, true),
    p("deviceId", Str, true, false),
    p("displayName", Str, true, true),
    p("operatingSystem", Str, true, true),
    p("operatingSystemVersion", Str, true, true),
    p("trustType", Str, true, false),
];

/// Finds a property by name in a schema. OData property names are case-sensitive on the wire, but Graph's
/// directory accepts any case in query options, so the lookup ignores case and returns the canonical name.
pub(crate) fn find(schema: &'static [Prop], name: &str) -> Option<&'static Prop> {
    schema.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}
