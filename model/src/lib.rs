//! Protocol model (being written).
