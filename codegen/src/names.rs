//! Rust identifiers from CSDL names.

/// Rust keywords that cannot be used as plain identifiers.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Splits a CSDL name into words: `oAuth2PermissionGrant` -> `o`, `Auth2`, `Permission`, `Grant`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn fix_start(mut s: String, prefix: &str) -> String {
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, prefix);
    }
    s
}

/// `userPrincipalName` -> `UserPrincipalName`.
pub fn pascal(name: &str) -> String {
    let s: String = words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    let s = fix_start(s, "V");
    if s == "Self" { "SelfValue".into() } else { s }
}

/// The words of a snake_case name: a one-letter word followed by a capitalised one is joined
/// to it, so acronyms and prefixes read as one word (`cloudPCs` -> `cloud`, `pcs`;
/// `iosVppEBooks` -> `ios`, `vpp`, `ebooks`; `oAuth2Grant` -> `oauth2`, `grant`;
/// `ODataType` -> `odata`, `type`).
fn snake_words(name: &str) -> Vec<String> {
    let words = words(name);
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let single_letter = word.len() == 1 && word.chars().all(|c| c.is_ascii_alphabetic());
        match words.get(i + 1) {
            Some(next) if single_letter && next.starts_with(|c: char| c.is_ascii_uppercase()) => {
                out.push(format!("{word}{next}").to_ascii_lowercase());
                i += 2;
            }
            _ => {
                out.push(word.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    out
}

/// `userPrincipalName` -> `user_principal_name`, keywords escaped.
pub fn snake(name: &str) -> String {
    let s = snake_words(name).join("_");
    let s = fix_start(s, "n_");
    escape(s)
}

/// Escapes a Rust keyword (raw identifier, or a trailing `_` where raw is not allowed).
pub fn escape(s: String) -> String {
    if matches!(s.as_str(), "self" | "super" | "crate" | "Self") {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// What serde's `rename_all = "camelCase"` makes of a snake_case field name.
pub fn serde_camel(field: &str) -> String {
    let field = field.strip_prefix("r#").unwrap_or(field);
    let mut out = String::new();
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A naive English plural for method names (`group` -> `groups`, `policy` -> `policies`).
pub fn plural(snake_name: &str) -> String {
    let base = snake_name.strip_prefix("r#").unwrap_or(snake_name);
    let b = base.as_bytes();
    let out = if base.ends_with('y')
        && b.len() > 1
        && !matches!(b[b.len() - 2], b'a' | b'e' | b'i' | b'o' | b'u')
    {
        format!("{}ies", &base[..base.len() - 1])
    } else if base.ends_with('s')
        || base.ends_with('x')
        || base.ends_with("ch")
        || base.ends_with("sh")
    {
        format!("{base}es")
    } else {
        format!("{base}s")
    };
    escape(out)
}

/// Module name for a namespace: `microsoft.graph.callRecords` -> `call_records`.
pub fn namespace_module(ns: &str) -> String {
    let rest = ns.strip_prefix("microsoft.graph.").unwrap_or(ns);
    rest.split('.').map(snake).collect::<Vec<_>>().join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal("oAuth2PermissionGrant"), "OAuth2PermissionGrant");
        assert_eq!(snake("oAuth2PermissionGrant"), "oauth2_permission_grant");
        assert_eq!(snake("cloudPCs"), "cloud_pcs");
        assert_eq!(snake("iosVppEBooks"), "ios_vpp_ebooks");
        assert_eq!(snake("IPv6Range"), "ipv6_range");
        assert_eq!(snake("macOSLobApp"), "mac_os_lob_app");
        assert_eq!(snake("eDiscoveryCase"), "ediscovery_case");
        assert_eq!(
            snake("windowsAutopilotDeviceIdentities"),
            "windows_autopilot_device_identities"
        );
        assert_eq!(
            snake("x509CertificateAuthenticationMethod"),
            "x509_certificate_authentication_method"
        );
        assert_eq!(snake("assignedLicenses"), "assigned_licenses");
        assert_eq!(
            serde_camel("o_auth2_permission_grant"),
            "oAuth2PermissionGrant"
        );
        assert_eq!(snake("userPrincipalName"), "user_principal_name");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("ODataType"), "odata_type");
        assert_eq!(pascal("unknownFutureValue"), "UnknownFutureValue");
        assert_eq!(pascal("2fa"), "V2fa");
        assert_eq!(plural("policy"), "policies");
        assert_eq!(plural("group"), "groups");
        assert_eq!(plural("address"), "addresses");
        assert_eq!(
            namespace_module("microsoft.graph.callRecords"),
            "call_records"
        );
        assert_eq!(
            namespace_module("microsoft.graph.partners.billing"),
            "partners_billing"
        );
    }
}
