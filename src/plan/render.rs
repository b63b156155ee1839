//! Rendering a plan: coloured diff, JSON, Markdown (stub).
