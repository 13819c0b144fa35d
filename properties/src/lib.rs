//! Properties (being written).
