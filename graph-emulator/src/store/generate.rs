//! Fast generation of synthetic users (100,000 in well under a second in release builds) and of
//! nested groups they belong to.

use serde_json::{Value, json};

use super::{Directory, Entity, Kind};

const GIVEN: &[&str] = &[
    "Alex", "Bianca", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jun", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zara",
];
const SURNAMES: &[&str] = &[
    "Anders", "Brennan", "Castillo", "Dubois", "Eriksen", "Fujita", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi",
    "Schmidt", "Tanaka", "Uddin", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Engineering",
    "Finance",
    "Marketing",
    "Support",
    "Legal",
];

/// SplitMix64: a tiny, well-distributed mixer, so generated ids look random but are reproducible.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Mixed into the seeds of group ids, so they never follow the users' sequence.
const GROUP_SALT: u64 = 0x6A09_E667_F3BC_C908;

/// How many teams each generated user joins.
const TEAMS_PER_USER: usize = 3;

/// A reproducible random-looking (version 4) UUID from two seeds.
fn generated_id(hi: u64, lo: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The id of the `k`-th generated user (1-based).
fn user_id(k: u64) -> String {
    generated_id(mix(k), mix(k ^ 0xA5A5_A5A5_A5A5_A5A5))
}

impl Directory {
    /// Adds `n` synthetic users (`first.lastN@contoso.com`), each with a reproducible random-looking id.
    /// Successive calls continue the numbering, so principal names never clash.
    pub fn generate_users(&mut self, n: usize) {
        for _ in 0..n {
            self.generated += 1;
            let k = self.generated;
            let hi = mix(k);
            let lo = mix(k ^ 0xA5A5_A5A5_A5A5_A5A5);
            let id = user_id(k);
            let given = GIVEN[(hi % GIVEN.len() as u64) as usize];
            let surname = SURNAMES[(lo % SURNAMES.len() as u64) as usize];
            let nickname = format!("{}.{}{k}", given.to_lowercase(), surname.to_lowercase());
            let upn = format!("{nickname}@contoso.com");
            let user = Entity::new(Kind::User, &id, &format!("{given} {surname} {k}"))
                .with("userPrincipalName", Value::String(upn.clone()))
                .with("givenName", json!(given))
                .with("surname", json!(surname))
                .with("mail", Value::String(upn))
                .with("mailNickname", Value::String(nickname))
                .with("accountEnabled", Value::Bool(true))
                .with(
                    "department",
                    json!(DEPARTMENTS[(k % DEPARTMENTS.len() as u64) as usize]),
                );
            if let Err(err) = self.insert(user) {
                // Only possible if an id collides with an existing object (2^-122 per pair): skip it.
                tracing::warn!(%err, "generated user skipped");
            }
        }
    }

    /// Adds `n` synthetic security groups in two tiers and puts every generated user in them: a
    /// quarter of the groups (rounded down) are divisions (`Division K`), the others teams
    /// (`Team K`), each team a member of one or two divisions; every user made by
    /// [`Directory::generate_users`] so far becomes a direct member of three teams (of all of
    /// them when there are fewer). A user's `transitiveMemberOf` thus holds its three teams
    /// and their divisions: about seven groups with 100 or more generated groups. Ids,
    /// nesting and memberships are reproducible; successive calls continue the numbering.
    pub fn generate_groups(&mut self, n: usize) {
        let divisions = n / 4;
        let mut division_ids = Vec::with_capacity(divisions);
        let mut team_ids = Vec::with_capacity(n - divisions);
        for i in 0..n {
            self.generated_groups += 1;
            let k = self.generated_groups;
            let id = generated_id(mix(k ^ GROUP_SALT), mix(k ^ GROUP_SALT.rotate_left(32)));
            let division = i < divisions;
            let (name, nickname) = if division {
                (format!("Division {k}"), format!("division{k}"))
            } else {
                (format!("Team {k}"), format!("team{k}"))
            };
            let description = if division {
                "A generated division"
            } else {
                "A generated team"
            };
            let entity = super::seed::group(&id, &name, &nickname, false, true, false)
                .with("description", json!(description));
            match self.insert(entity) {
                Ok(()) if division => division_ids.push(id),
                Ok(()) => team_ids.push(id),
                // Only possible if an id collides with an existing object: skip it.
                Err(err) => tracing::warn!(%err, "generated group skipped"),
            }
        }
        let edge = |d: &mut Directory, container: &str, member: &str| {
            if let Err(err) = d.add_member(container, member) {
                tracing::warn!(%err, "generated membership skipped");
            }
        };
        // Each team in one division, every other one (by its hash) in a second, distinct one.
        let p = division_ids.len();
        for (i, team) in team_ids.iter().enumerate() {
            if p == 0 {
                break;
            }
            let h = mix(i as u64 ^ GROUP_SALT);
            let first = i % p;
            edge(self, &division_ids[first], team);
            if p >= 2 && h & 1 == 1 {
                let second = (first + 1 + (h >> 1) as usize % (p - 1)) % p;
                edge(self, &division_ids[second], team);
            }
        }
        // Each generated user in three distinct teams: s, s + d, s + 2d (mod t) with
        // 1 <= d <= (t - 1) / 2, which are distinct for t >= 3.
        let t = team_ids.len();
        if t == 0 {
            return;
        }
        for k in 1..=self.generated {
            let id = user_id(k);
            if self.user(&id).is_none() {
                continue; // Deleted since.
            }
            let h = mix(k ^ GROUP_SALT.rotate_left(16));
            if t <= TEAMS_PER_USER {
                for team in &team_ids {
                    edge(self, team, &id);
                }
                continue;
            }
            let start = (h % t as u64) as usize;
            let step = 1 + ((h >> 32) as usize) % ((t - 1) / 2);
            for j in 0..TEAMS_PER_USER {
                edge(self, &team_ids[(start + j * step) % t], &id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_users_are_unique_and_continue_numbering() {
        let mut d = Directory::empty();
        d.generate_users(1000);
        d.generate_users(500);
        assert_eq!(d.count(Kind::User), 1500);
        let any = d.iter_after(Kind::User, None).next().unwrap();
        assert!(d.user(&any.user_principal_name).is_some());
        assert!(uuid::Uuid::parse_str(&any.id).is_ok());
    }

    fn generated_directory(users: usize, groups: usize) -> Directory {
        let mut d = Directory::empty();
        d.generate_users(users);
        d.generate_groups(groups);
        d
    }

    #[test]
    fn generated_groups_nest_and_every_user_joins_three_teams() {
        let d = generated_directory(1000, 100);
        assert_eq!(d.count(Kind::Group), 100);
        let mut total = 0;
        for user in d.iter_after(Kind::User, None) {
            let direct = d.member_of(&user.id);
            assert_eq!(direct.len(), 3, "{}", user.id);
            assert!(direct.iter().all(|g| g.display_name.starts_with("Team ")));
            let transitive = d.transitive_member_of(&user.id);
            assert!((4..=9).contains(&transitive.len()), "{}", transitive.len());
            assert!(
                transitive
                    .iter()
                    .all(|g| g.kind == Kind::Group && g.is_security_group())
            );
            total += transitive.len();
        }
        let average = total as f64 / 1000.0;
        assert!((5.0..=8.0).contains(&average), "{average}");
        for group in d.iter_after(Kind::Group, None) {
            let parents = d.member_of(&group.id).len();
            if group.display_name.starts_with("Team ") {
                assert!((1..=2).contains(&parents), "{parents}");
            } else {
                assert_eq!(parents, 0);
            }
        }
    }

    #[test]
    fn generated_groups_are_reproducible() {
        let (a, b) = (generated_directory(200, 20), generated_directory(200, 20));
        let ids = |d: &Directory| -> Vec<(String, Vec<String>)> {
            d.iter_after(Kind::User, None)
                .map(|u| {
                    let groups = d
                        .transitive_member_of(&u.id)
                        .iter()
                        .map(|g| g.id.clone())
                        .collect();
                    (u.id.clone(), groups)
                })
                .collect()
        };
        assert_eq!(ids(&a), ids(&b));
    }

    #[test]
    fn few_groups_still_work() {
        for groups in [0, 1, 2, 3, 4, 5] {
            let d = generated_directory(10, groups);
            assert_eq!(d.count(Kind::Group), groups);
            for user in d.iter_after(Kind::User, None) {
                let teams = groups - groups / 4;
                assert_eq!(d.member_of(&user.id).len(), teams.min(3), "{groups} groups");
            }
        }
        // A second call numbers on.
        let mut d = generated_directory(5, 8);
        d.generate_users(5);
        d.generate_groups(4);
        assert_eq!(d.count(Kind::Group), 12);
        assert!(
            d.iter_after(Kind::Group, None)
                .any(|g| g.display_name == "Team 12")
        );
    }
}
