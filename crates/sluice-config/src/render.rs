//! Renderers: HAProxy's one-line form, a rich form with the offending line, JSON.
