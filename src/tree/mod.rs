//! The ratchet tree (RFC 9420 §4, §7) and its array representation (Appendix C).
pub mod math;
