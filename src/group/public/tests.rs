//! Tests of the public view.
