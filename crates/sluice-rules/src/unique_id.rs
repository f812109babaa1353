//! `unique-id-format`: the request's unique ID, made once from the frontend's format the
//! first time something asks for it (a rule, the `unique-id-header`, a log line) and kept
//! for the rest of the request, so that every reader sees the same value.

use crate::{LogFormat, SampleSource};
use std::cell::{Cell, OnceCell};

/// HAProxy keeps at most this many bytes of an ID.
pub const MAX_LEN: usize = 127;

/// One request's ID slot. Nothing is allocated until the ID is made.
#[derive(Debug, Default)]
pub struct UniqueId {
    value: OnceCell<Box<[u8]>>,
    /// The ID is being made (a format that reads `unique-id` itself gets nothing).
    busy: Cell<bool>,
}

impl UniqueId {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the ID for the next request.
    pub fn clear(&mut self) {
        self.value.take();
        self.busy.set(false);
    }

    /// The ID, if made already.
    pub fn get(&self) -> Option<&[u8]> {
        self.value.get().map(|v| &**v)
    }

    /// The ID, made from `format` against `src` on the first call.
    pub fn get_or_make(&self, format: &LogFormat, src: &dyn SampleSource) -> Option<&[u8]> {
        if let Some(v) = self.value.get() {
            return Some(v);
        }
        if self.busy.replace(true) {
            return None;
        }
        let mut out = Vec::new();
        format.render(src, &mut out);
        out.truncate(MAX_LEN);
        self.busy.set(false);
        let _ = self.value.set(out.into_boxed_slice());
        self.get()
    }
}

/// The unique ID `src` sees: one the connection has, else the one its slot has or makes.
pub fn of(src: &dyn SampleSource) -> Option<&[u8]> {
    let conn = src.connection();
    if let Some(v) = conn.unique_id() {
        return Some(v);
    }
    let (slot, format) = conn.unique_id_source()?;
    slot.get_or_make(format, src)
}
