//! The shop's backend half of iys-consent.
