//! `userlist` sections: users, their passwords (crypt(3) hashes or `insecure-password`) and
//! groups, and the HTTP `Authorization` header checked against them (`http_auth`,
//! `http_auth_group`).
//!
//! Hashed passwords are checked with the crypt(3) algorithms a Linux system offers (SHA-512
//! `$6$`, SHA-256 `$5$`, MD5 `$1$`, bcrypt `$2y$`, DES), as HAProxy does through the C
//! library. As in HAProxy, each check of a hashed password pays the hash's full cost.

use sluice_config::SectionKind;
use sluice_model::Model;
use std::collections::HashMap;
use std::sync::Arc;

/// A user's password as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// `password <hash>`.
    Hashed(String),
    /// `insecure-password <text>`.
    Clear(String),
}

/// One user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The password (`None`: the user cannot log in).
    pub password: Option<Password>,
    /// The groups the user belongs to (its `groups` and the groups listing it).
    pub groups: Vec<String>,
}

/// One `userlist` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Userlist {
    /// The section's name.
    pub name: String,
    users: HashMap<String, User>,
}

impl Userlist {
    /// The user `name`, when both the user exists and `password` is its password.
    pub fn check(&self, name: &str, password: &str) -> Option<&User> {
        let user = self.users.get(name)?;
        let ok = match user.password.as_ref()? {
            Password::Clear(p) => constant_time_eq(p.as_bytes(), password.as_bytes()),
            Password::Hashed(h) => pwhash::unix::verify(password, h),
        };
        ok.then_some(user)
    }

    /// The user `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }
}

/// Every userlist of a configuration, by name.
#[derive(Clone, Debug, Default)]
pub struct Userlists(HashMap<String, Arc<Userlist>>);

impl Userlists {
    /// The userlists the model's `userlist` sections describe.
    pub fn of(model: &Model) -> Userlists {
        let mut out = HashMap::new();
        for section in model
            .sections
            .iter()
            .filter(|s| s.kind == SectionKind::Userlist)
        {
            let mut list = Userlist {
                name: section.name.clone(),
                users: HashMap::new(),
            };
            // `group <g> users a,b` lists members on the group's side.
            let mut members: Vec<(String, String)> = Vec::new();
            for stmt in &section.accounts {
                let words: Vec<&str> = stmt.words.iter().map(|w| w.text.as_str()).collect();
                match words.as_slice() {
                    ["user", name, rest @ ..] => {
                        let mut user = User {
                            name: name.to_string(),
                            password: None,
                            groups: Vec::new(),
                        };
                        let mut i = 0;
                        while let Some(w) = rest.get(i) {
                            let value = rest.get(i + 1).map(|v| v.to_string());
                            match *w {
                                "password" => user.password = value.map(Password::Hashed),
                                "insecure-password" => user.password = value.map(Password::Clear),
                                "groups" => {
                                    user.groups.extend(
                                        value
                                            .unwrap_or_default()
                                            .split(',')
                                            .filter(|g| !g.is_empty())
                                            .map(str::to_string),
                                    );
                                }
                                _ => {}
                            }
                            i += 2;
                        }
                        list.users.insert(user.name.clone(), user);
                    }
                    ["group", group, "users", users, ..] => {
                        for u in users.split(',').filter(|u| !u.is_empty()) {
                            members.push((u.to_string(), group.to_string()));
                        }
                    }
                    _ => {}
                }
            }
            for (user, group) in members {
                if let Some(u) = list.users.get_mut(&user) {
                    if !u.groups.contains(&group) {
                        u.groups.push(group);
                    }
                }
            }
            out.insert(list.name.clone(), Arc::new(list));
        }
        Userlists(out)
    }

    /// The userlist `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Userlist>> {
        self.0.get(name).cloned()
    }
}

/// Credentials of an `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic`: the user and password, decoded.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `Bearer <token>`.
    Bearer(String),
    /// Another scheme (`Digest`...): its name.
    Other(String),
}

impl Credentials {
    /// Reads an `Authorization` value (`None`: no scheme).
    pub fn parse(value: &[u8]) -> Option<Credentials> {
        let text = std::str::from_utf8(value).ok()?.trim();
        let (scheme, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = crate::base64::decode(rest.as_bytes(), false)?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            return Some(Credentials::Basic {
                user: user.to_string(),
                password: password.to_string(),
            });
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(Credentials::Bearer(rest.to_string()));
        }
        (!scheme.is_empty()).then(|| Credentials::Other(scheme.to_ascii_lowercase()))
    }

    /// HAProxy's name of the scheme (`http_auth_type`): `Basic`, `Bearer` or `Digest`;
    /// `None` for a scheme HAProxy does not know.
    pub fn scheme(&self) -> Option<&'static str> {
        match self {
            Credentials::Basic { .. } => Some("Basic"),
            Credentials::Bearer(_) => Some("Bearer"),
            Credentials::Other(s) if s == "digest" => Some("Digest"),
            Credentials::Other(_) => None,
        }
    }
}

/// Compares without stopping at the first difference (the time does not tell how much of a
/// clear-text password was right).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> Model {
        let mut sources = sluice_config::SourceMap::new();
        sources.add("t.cfg", text.as_bytes().to_vec());
        let mut env = sluice_config::Environment::empty();
        let (tree, _) =
            sluice_config::read_config(&sources, &mut env, &sluice_config::ReadOptions::default());
        sluice_model::build(&tree, &Default::default()).0
    }

    #[test]
    fn users_passwords_and_groups() {
        // "secret" hashed with SHA-512 crypt (salt "saltsalt").
        let hash = pwhash::sha512_crypt::hash_with("$6$saltsalt", "secret").expect("hash");
        let m = model(&format!(
            "userlist L\n  group G1 users tiger,scott\n  group G2\n  user tiger password {hash}\n  user scott insecure-password elgato groups G2\n"
        ));
        let lists = Userlists::of(&m);
        let l = lists.get("L").expect("the userlist");
        assert!(l.check("tiger", "secret").is_some());
        assert!(l.check("tiger", "Secret").is_none());
        assert!(l.check("scott", "elgato").is_some());
        assert!(l.check("scott", "elgatO").is_none());
        assert!(l.check("nobody", "elgato").is_none());
        let mut g = l.user("scott").expect("scott").groups.clone();
        g.sort();
        assert_eq!(g, ["G1", "G2"]);
        assert!(lists.get("M").is_none());
    }

    #[test]
    fn authorization_headers() {
        assert_eq!(
            Credentials::parse(b"Basic c2NvdHQ6ZWxnYXRv"),
            Some(Credentials::Basic {
                user: "scott".into(),
                password: "elgato".into()
            })
        );
        assert_eq!(
            Credentials::parse(b"bearer abc.def"),
            Some(Credentials::Bearer("abc.def".into()))
        );
        assert_eq!(
            Credentials::parse(b"Digest x=1").and_then(|c| c.scheme()),
            Some("Digest")
        );
        assert_eq!(
            Credentials::parse(b"basic c2NvdHQ6ZWxnYXRv").and_then(|c| c.scheme()),
            Some("Basic")
        );
        assert_eq!(
            Credentials::parse(b"Negotiate abc").and_then(|c| c.scheme()),
            None
        );
        assert_eq!(Credentials::parse(b"Basic !!"), None);
        assert_eq!(Credentials::parse(b"Basic bm9jb2xvbg=="), None);
    }
}
