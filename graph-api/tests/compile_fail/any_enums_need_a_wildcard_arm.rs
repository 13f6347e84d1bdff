// AnyX enums grow (new Graph types, more area features): even a match naming every variant
// compiled with the default features needs a `_` arm, so enabling a feature anywhere in a
// build never breaks an exhaustive match elsewhere.
use msgraph_typed::models::AnyDirectoryObject;

fn name(object: &AnyDirectoryObject) -> &'static str {
    match object {
        AnyDirectoryObject::DirectoryObject(_) => "DirectoryObject",
        AnyDirectoryObject::AdministrativeUnit(_) => "AdministrativeUnit",
        AnyDirectoryObject::Application(_) => "Application",
        AnyDirectoryObject::AgentIdentityBlueprint(_) => "AgentIdentityBlueprint",
        AnyDirectoryObject::AppRoleAssignment(_) => "AppRoleAssignment",
        AnyDirectoryObject::CertificateAuthorityDetail(_) => "CertificateAuthorityDetail",
        AnyDirectoryObject::CertificateBasedAuthPki(_) => "CertificateBasedAuthPki",
        AnyDirectoryObject::DirectoryObjectPartnerReference(_) => "DirectoryObjectPartnerReference",
        AnyDirectoryObject::DirectoryRole(_) => "DirectoryRole",
        AnyDirectoryObject::Endpoint(_) => "Endpoint",
        AnyDirectoryObject::ExtensionProperty(_) => "ExtensionProperty",
        AnyDirectoryObject::FederatedTokenValidationPolicy(_) => "FederatedTokenValidationPolicy",
        AnyDirectoryObject::Group(_) => "Group",
        AnyDirectoryObject::Mailbox(_) => "Mailbox",
        AnyDirectoryObject::MultiTenantOrganizationMember(_) => "MultiTenantOrganizationMember",
        AnyDirectoryObject::RemoteTenantGroup(_) => "RemoteTenantGroup",
        AnyDirectoryObject::ServicePrincipal(_) => "ServicePrincipal",
        AnyDirectoryObject::AgentIdentity(_) => "AgentIdentity",
        AnyDirectoryObject::AgentIdentityBlueprintPrincipal(_) => "AgentIdentityBlueprintPrincipal",
        AnyDirectoryObject::User(_) => "User",
        AnyDirectoryObject::AgentUser(_) => "AgentUser",
        AnyDirectoryObject::Unknown(_) => "Unknown",
    }
}

fn main() {
    let _ = name;
}
