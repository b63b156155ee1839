//! Building a plan from a host and the requested moves (stub).
