//! DNS messages: the query for a server's name, and what an answer says about it. The wire
//! format is hickory-proto's; what counts as valid, an error or no address is Sluice's (and
//! HAProxy's) reading of it.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::IpAddr;

/// The record type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    A,
    Aaaa,
    /// A service label (`_http._tcp.name`): its targets and ports.
    Srv,
}

impl Kind {
    /// The other address family's type (HAProxy's query type fallback).
    pub fn other(self) -> Kind {
        match self {
            Kind::A => Kind::Aaaa,
            Kind::Aaaa => Kind::A,
            Kind::Srv => Kind::Srv,
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            Kind::A => RecordType::A,
            Kind::Aaaa => RecordType::AAAA,
            Kind::Srv => RecordType::SRV,
        }
    }
}

/// How a resolution ended, in the words of `hold <status>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A usable answer (it may hold no address of the type asked).
    Valid,
    /// NXDOMAIN: the name does not exist.
    Nx,
    /// REFUSED.
    Refused,
    /// No answer within `timeout retry`.
    Timeout,
    /// The answer did not fit (TC bit): counted as `other` for `hold`.
    Truncated,
    /// Any other error (SERVFAIL, FORMERR, a truncated answer...).
    Other,
}

impl Status {
    /// The reason HAProxy gives when the status takes a server down.
    pub fn reason(self) -> &'static str {
        match self {
            Status::Valid => "No IP for server",
            Status::Nx => "DNS NX status",
            Status::Refused => "DNS refused status",
            Status::Timeout => "DNS timeout status",
            Status::Truncated | Status::Other => "unspecified DNS error",
        }
    }
}

/// What one nameserver said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: Status,
    /// The addresses of the type asked, in the order given.
    pub addrs: Vec<IpAddr>,
    /// The position of the nameserver that gave it, in its section.
    pub by: Option<usize>,
    /// For a service label: its records, with the addresses the answer gave for them.
    pub srv: Vec<SrvRecord>,
}

/// One SRV record of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvRecord {
    /// The target host, lower case, without the final dot.
    pub target: String,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
    /// The target's addresses found in the answer's additional records.
    pub addrs: Vec<IpAddr>,
}

impl Answer {
    pub fn failed(status: Status) -> Answer {
        Answer {
            status,
            addrs: Vec::new(),
            by: None,
            srv: Vec::new(),
        }
    }

    /// Valid and with at least one address.
    pub fn has_addrs(&self) -> bool {
        self.status == Status::Valid && !self.addrs.is_empty()
    }
}

/// The query for `name`'s records of type `kind`, announcing `payload` bytes (EDNS).
pub fn query(id: u16, name: &str, kind: Kind, payload: u16) -> Result<Vec<u8>, String> {
    let name =
        Name::from_ascii(absolute(name)).map_err(|e| format!("invalid name '{name}': {e}"))?;
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name, kind.record_type()));
    let mut edns = Edns::new();
    edns.set_max_payload(payload.max(512));
    message.set_edns(edns);
    message.to_vec().map_err(|e| e.to_string())
}

/// Reads a datagram: `None` when it is not the answer to query `id` for `name` and `kind`
/// (a late answer to an earlier query, or garbage), which is then ignored.
pub fn answer(bytes: &[u8], id: u16, name: &str, kind: Kind) -> Option<Answer> {
    let message = Message::from_vec(bytes).ok()?;
    let m = &message.metadata;
    if m.id != id || m.message_type != MessageType::Response {
        return None;
    }
    let asked = Name::from_ascii(absolute(name)).ok()?;
    let same_question = message
        .queries
        .iter()
        .any(|q| q.name == asked && q.query_type == kind.record_type());
    if !same_question {
        return None;
    }
    let status = match m.response_code {
        ResponseCode::NoError if m.truncation => Status::Truncated,
        ResponseCode::NoError => Status::Valid,
        ResponseCode::NXDomain => Status::Nx,
        ResponseCode::Refused => Status::Refused,
        _ => Status::Other,
    };
    if status != Status::Valid {
        return Some(Answer::failed(status));
    }
    // The records of the type asked, whatever name they carry: a CNAME chain ends on the
    // addresses of the last name.
    let mut addrs = Vec::new();
    for record in &message.answers {
        let ip = match (&record.data, kind) {
            (RData::A(a), Kind::A) => IpAddr::V4(a.0),
            (RData::AAAA(a), Kind::Aaaa) => IpAddr::V6(a.0),
            _ => continue,
        };
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    let srv = if kind == Kind::Srv {
        srv_records(&message)
    } else {
        Vec::new()
    };
    Some(Answer {
        status,
        addrs,
        by: None,
        srv,
    })
}

/// The SRV records of an answer, each with the addresses of its target from the
/// additional section.
fn srv_records(message: &Message) -> Vec<SrvRecord> {
    let mut out: Vec<SrvRecord> = Vec::new();
    for record in &message.answers {
        let RData::SRV(srv) = &record.data else {
            continue;
        };
        let target = host_of(&srv.target);
        if target.is_empty() || out.iter().any(|r| r.target == target && r.port == srv.port) {
            continue;
        }
        let addrs = message
            .additionals
            .iter()
            .filter(|a| host_of(&a.name) == target)
            .filter_map(|a| match &a.data {
                RData::A(v4) => Some(IpAddr::V4(v4.0)),
                RData::AAAA(v6) => Some(IpAddr::V6(v6.0)),
                _ => None,
            })
            .collect();
        out.push(SrvRecord {
            target,
            port: srv.port,
            priority: srv.priority,
            weight: srv.weight,
            addrs,
        });
    }
    out
}

fn host_of(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, AAAA};
    use hickory_proto::rr::Record;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn reply(query: &[u8], code: ResponseCode, records: Vec<RData>) -> Vec<u8> {
        let asked = Message::from_vec(query).expect("query");
        let mut m = Message::response(asked.metadata.id, OpCode::Query);
        m.metadata.response_code = code;
        for q in &asked.queries {
            m.add_query(q.clone());
            for r in &records {
                m.add_answer(Record::from_rdata(q.name.clone(), 30, r.clone()));
            }
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn addresses_of_the_type_asked() {
        let q = query(7, "app.test", Kind::A, 512).expect("query");
        let bytes = reply(
            &q,
            ResponseCode::NoError,
            vec![
                RData::A(A(Ipv4Addr::new(10, 0, 0, 1))),
                RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
                RData::A(A(Ipv4Addr::new(10, 0, 0, 2))),
            ],
        );
        let a = answer(&bytes, 7, "app.test", Kind::A).expect("answer");
        assert_eq!(a.status, Status::Valid);
        assert_eq!(
            a.addrs,
            vec![IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2])]
        );
    }

    #[test]
    fn srv_records_with_their_addresses() {
        use hickory_proto::rr::rdata::SRV;
        let q = query(3, "_http._tcp.app.test", Kind::Srv, 512).expect("query");
        let asked = Message::from_vec(&q).expect("decode");
        let mut m = Message::response(3, OpCode::Query);
        let label = asked.queries[0].name.clone();
        m.add_query(asked.queries[0].clone());
        for (host, port) in [("A.test.", 8080), ("b.test.", 8081), ("a.test.", 8080)] {
            let target = Name::from_ascii(host).expect("name");
            m.add_answer(Record::from_rdata(
                label.clone(),
                5,
                RData::SRV(SRV::new(1, 10, port, target)),
            ));
        }
        let a_test = Name::from_ascii("a.test.").expect("name");
        m.add_additional(Record::from_rdata(
            a_test,
            5,
            RData::A(A(Ipv4Addr::new(10, 0, 0, 1))),
        ));
        let bytes = m.to_vec().expect("encode");
        let a = answer(&bytes, 3, "_http._tcp.app.test", Kind::Srv).expect("answer");
        assert_eq!(a.status, Status::Valid);
        let got: Vec<(&str, u16, usize)> = a
            .srv
            .iter()
            .map(|r| (r.target.as_str(), r.port, r.addrs.len()))
            .collect();
        // Targets in lower case, the duplicate dropped, b.test without an address.
        assert_eq!(got, vec![("a.test", 8080, 1), ("b.test", 8081, 0)]);
    }

    #[test]
    fn errors_and_strangers() {
        let q = query(9, "gone.test", Kind::Aaaa, 1232).expect("query");
        let nx = reply(&q, ResponseCode::NXDomain, vec![]);
        assert_eq!(
            answer(&nx, 9, "gone.test", Kind::Aaaa).map(|a| a.status),
            Some(Status::Nx)
        );
        let refused = reply(&q, ResponseCode::Refused, vec![]);
        assert_eq!(
            answer(&refused, 9, "gone.test", Kind::Aaaa).map(|a| a.status),
            Some(Status::Refused)
        );
        // Another id, another name, another type, or not DNS at all: not our answer.
        assert_eq!(answer(&nx, 10, "gone.test", Kind::Aaaa), None);
        assert_eq!(answer(&nx, 9, "other.test", Kind::Aaaa), None);
        assert_eq!(answer(&nx, 9, "gone.test", Kind::A), None);
        assert_eq!(answer(b"\x00\x01garbage", 9, "gone.test", Kind::A), None);
        assert!(query(1, "bad..name", Kind::A, 512).is_err());
    }
}
