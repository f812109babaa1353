//! The data types a table stores per entry (`store conn_cur,http_req_rate(10s)`), in
//! HAProxy's order, which is also the order `show table` prints them in.

use crate::freq::FreqCtr;
use std::fmt::Write as _;

/// A data type of the `store` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataType {
    /// The server the entry sticks to (`stick` rules).
    ServerId,
    /// General purpose tag 0.
    Gpt0,
    /// General purpose counter 0.
    Gpc0,
    /// Increment rate of gpc0.
    Gpc0Rate,
    /// Connections tracked.
    ConnCnt,
    /// Connection rate.
    ConnRate,
    /// Concurrent tracked connections.
    ConnCur,
    /// Sessions tracked.
    SessCnt,
    /// Session rate.
    SessRate,
    /// HTTP requests.
    HttpReqCnt,
    /// HTTP request rate.
    HttpReqRate,
    /// HTTP requests that got a 4xx (or were invalid).
    HttpErrCnt,
    /// Their rate.
    HttpErrRate,
    /// Bytes from the client.
    BytesInCnt,
    /// Their rate.
    BytesInRate,
    /// Bytes to the client.
    BytesOutCnt,
    /// Their rate.
    BytesOutRate,
    /// General purpose counter 1.
    Gpc1,
    /// Increment rate of gpc1.
    Gpc1Rate,
    /// The name (or address) of the server the entry sticks to (`srvkey`).
    ServerKey,
    /// HTTP requests the server failed (5xx, no response).
    HttpFailCnt,
    /// Their rate.
    HttpFailRate,
    /// The array of general purpose tags, `gpt(N)`.
    Gpt,
    /// The array of general purpose counters, `gpc(N)`.
    Gpc,
    /// The array of their rates, `gpc_rate(N,period)`.
    GpcRate,
    /// Protocol glitches.
    GlitchCnt,
    /// Their rate.
    GlitchRate,
}

/// How a data type is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A counter or a tag (a number).
    Counter,
    /// A rate over a period.
    Rate,
    /// A signed number (`server_id`).
    Signed,
    /// A name (`server_key`).
    Name,
}

/// Every data type, in HAProxy's order.
pub const ALL: [DataType; 27] = [
    DataType::ServerId,
    DataType::Gpt0,
    DataType::Gpc0,
    DataType::Gpc0Rate,
    DataType::ConnCnt,
    DataType::ConnRate,
    DataType::ConnCur,
    DataType::SessCnt,
    DataType::SessRate,
    DataType::HttpReqCnt,
    DataType::HttpReqRate,
    DataType::HttpErrCnt,
    DataType::HttpErrRate,
    DataType::BytesInCnt,
    DataType::BytesInRate,
    DataType::BytesOutCnt,
    DataType::BytesOutRate,
    DataType::Gpc1,
    DataType::Gpc1Rate,
    DataType::ServerKey,
    DataType::HttpFailCnt,
    DataType::HttpFailRate,
    DataType::Gpt,
    DataType::Gpc,
    DataType::GpcRate,
    DataType::GlitchCnt,
    DataType::GlitchRate,
];

impl DataType {
    /// The name in `store` lists and `show table`.
    pub fn name(self) -> &'static str {
        use DataType::*;
        match self {
            ServerId => "server_id",
            Gpt0 => "gpt0",
            Gpc0 => "gpc0",
            Gpc0Rate => "gpc0_rate",
            ConnCnt => "conn_cnt",
            ConnRate => "conn_rate",
            ConnCur => "conn_cur",
            SessCnt => "sess_cnt",
            SessRate => "sess_rate",
            HttpReqCnt => "http_req_cnt",
            HttpReqRate => "http_req_rate",
            HttpErrCnt => "http_err_cnt",
            HttpErrRate => "http_err_rate",
            BytesInCnt => "bytes_in_cnt",
            BytesInRate => "bytes_in_rate",
            BytesOutCnt => "bytes_out_cnt",
            BytesOutRate => "bytes_out_rate",
            Gpc1 => "gpc1",
            Gpc1Rate => "gpc1_rate",
            ServerKey => "server_key",
            HttpFailCnt => "http_fail_cnt",
            HttpFailRate => "http_fail_rate",
            Gpt => "gpt",
            Gpc => "gpc",
            GpcRate => "gpc_rate",
            GlitchCnt => "glitch_cnt",
            GlitchRate => "glitch_rate",
        }
    }

    /// The data type named `name`.
    pub fn parse(name: &str) -> Option<DataType> {
        ALL.iter().copied().find(|d| d.name() == name)
    }

    /// How it is stored.
    pub fn shape(self) -> Shape {
        use DataType::*;
        match self {
            ServerId => Shape::Signed,
            ServerKey => Shape::Name,
            Gpc0Rate | ConnRate | SessRate | HttpReqRate | HttpErrRate | BytesInRate
            | BytesOutRate | Gpc1Rate | HttpFailRate | GpcRate | GlitchRate => Shape::Rate,
            _ => Shape::Counter,
        }
    }

    /// Whether it is an array (`gpt(N)`, `gpc(N)`, `gpc_rate(N,period)`).
    pub fn is_array(self) -> bool {
        matches!(self, DataType::Gpt | DataType::Gpc | DataType::GpcRate)
    }

    /// The position in [`ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One data type a table stores, with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The type.
    pub kind: DataType,
    /// The period of a rate, in milliseconds.
    pub period: u64,
    /// The number of elements of an array (1 otherwise).
    pub count: usize,
}

/// The value of one stored data type in one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Counters and tags (one per array element).
    Counters(Vec<u64>),
    /// Rates (one per array element).
    Rates(Vec<FreqCtr>),
    /// `server_id`.
    Signed(i64),
    /// `server_key`.
    Name(Option<Box<str>>),
}

impl Slot {
    /// A zero value of `stored`.
    pub fn new(stored: &Stored) -> Slot {
        match stored.kind.shape() {
            Shape::Counter => Slot::Counters(vec![0; stored.count]),
            Shape::Rate => Slot::Rates(vec![FreqCtr::default(); stored.count]),
            Shape::Signed => Slot::Signed(0),
            Shape::Name => Slot::Name(None),
        }
    }

    /// The value of element `idx` at `now` (a rate's estimate), as a number.
    pub fn read(&self, stored: &Stored, idx: usize, now: u64) -> Option<i64> {
        match self {
            Slot::Counters(v) => v.get(idx).map(|v| *v as i64),
            Slot::Rates(v) => v.get(idx).map(|r| i64::from(r.read(now, stored.period))),
            Slot::Signed(v) => Some(*v),
            Slot::Name(_) => None,
        }
    }

    /// Adds `inc` to element `idx` (counters saturate, rates count events).
    pub fn add(&mut self, stored: &Stored, idx: usize, inc: u64, now: u64) {
        match self {
            Slot::Counters(v) => {
                if let Some(c) = v.get_mut(idx) {
                    *c = c.saturating_add(inc);
                }
            }
            Slot::Rates(v) => {
                if let Some(r) = v.get_mut(idx) {
                    r.add(now, stored.period, u32::try_from(inc).unwrap_or(u32::MAX));
                }
            }
            Slot::Signed(v) => *v = v.saturating_add(inc as i64),
            Slot::Name(_) => {}
        }
    }

    /// Subtracts one from element `idx` of a counter (`conn_cur` when a tracker ends).
    pub fn decrement(&mut self, idx: usize) {
        if let Slot::Counters(v) = self {
            if let Some(c) = v.get_mut(idx) {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Sets element `idx` (a rate is reset and counts `value` events now).
    pub fn set(&mut self, stored: &Stored, idx: usize, value: i64, now: u64) {
        match self {
            Slot::Counters(v) => {
                if let Some(c) = v.get_mut(idx) {
                    *c = value.max(0) as u64;
                }
            }
            Slot::Rates(v) => {
                if let Some(r) = v.get_mut(idx) {
                    *r = FreqCtr::default();
                    r.add(
                        now,
                        stored.period,
                        u32::try_from(value.max(0)).unwrap_or(u32::MAX),
                    );
                }
            }
            Slot::Signed(v) => *v = value,
            Slot::Name(_) => {}
        }
    }

    /// Appends ` name=value` (` name(period)=value` for rates, one item per array element
    /// named `gpc0`, `gpc1`...) as `show table` prints it.
    pub fn render(&self, stored: &Stored, now: u64, out: &mut String) {
        let name = stored.kind.name();
        let elements = match self {
            Slot::Counters(v) => v.len(),
            Slot::Rates(v) => v.len(),
            _ => 1,
        };
        for idx in 0..elements {
            out.push(' ');
            if stored.kind.is_array() {
                // `gpc_rate` element 2 is `gpc2_rate`.
                match name.split_once('_') {
                    Some((head, tail)) => {
                        let _ = write!(out, "{head}{idx}_{tail}");
                    }
                    None => {
                        let _ = write!(out, "{name}{idx}");
                    }
                }
            } else {
                out.push_str(name);
            }
            if stored.kind.shape() == Shape::Rate {
                let _ = write!(out, "({})", stored.period);
            }
            out.push('=');
            match self {
                Slot::Name(n) => out.push_str(n.as_deref().unwrap_or("")),
                _ => {
                    let _ = write!(out, "{}", self.read(stored, idx, now).unwrap_or(0));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_order() {
        for (i, d) in ALL.iter().enumerate() {
            assert_eq!(DataType::parse(d.name()), Some(*d));
            assert_eq!(d.index(), i);
        }
    }

    #[test]
    fn arrays_render_one_item_per_element() {
        let st = Stored {
            kind: DataType::GpcRate,
            period: 1000,
            count: 2,
        };
        let mut slot = Slot::new(&st);
        slot.add(&st, 1, 1, 5000);
        let mut out = String::new();
        slot.render(&st, 5000, &mut out);
        assert_eq!(out, " gpc0_rate(1000)=0 gpc1_rate(1000)=1");
        let st = Stored {
            kind: DataType::Gpt,
            period: 0,
            count: 2,
        };
        let mut out = String::new();
        Slot::new(&st).render(&st, 0, &mut out);
        assert_eq!(out, " gpt0=0 gpt1=0");
    }
}
