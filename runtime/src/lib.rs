//! snnc runtime
