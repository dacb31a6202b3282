//! `location`: a point, with its name and address.

use serde::Deserialize;

use crate::domain::send_request::ValidationError;

/// A number, or a string holding one (Meta's samples write coordinates both ways).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Coordinate {
    Number(f64),
    Text(String),
}

impl Coordinate {
    fn value(&self) -> Option<f64> {
        match self {
            Coordinate::Number(n) => Some(*n),
            Coordinate::Text(text) => text.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Location {
    pub latitude: Coordinate,
    pub longitude: Coordinate,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl Location {
    pub(super) fn checked(self, path: &str) -> Result<Self, ValidationError> {
        for (name, coordinate, limit) in [
            ("latitude", &self.latitude, 90.0),
            ("longitude", &self.longitude, 180.0),
        ] {
            match coordinate.value() {
                Some(v) if v.is_finite() && (-limit..=limit).contains(&v) => {}
                _ => {
                    return Err(ValidationError::new(
                        format!("{path}.{name}"),
                        format!("must be a number from -{limit} to {limit}"),
                    ));
                }
            }
        }
        Ok(self)
    }
}
