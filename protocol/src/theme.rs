//! The widget's look beyond the brand colour: colour scheme, stacking order, the
//! launcher's offsets and label, and the text colour on the brand colour, chosen by the
//! WCAG 2.x contrast ratio so it stays readable (≥ 4.5:1) — computed here, in pure code,
//! when the configuration is loaded.

use crate::config::Color;
use serde::{Deserialize, Serialize};

/// Light, dark, or following the visitor's `prefers-color-scheme` (the default: a
/// widget follows the visitor's setting unless the site forces one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorScheme {
    Light,
    Dark,
    #[default]
    Auto,
}

/// The contrast normal text needs under WCAG 2.2 AA (success criterion 1.4.3).
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

/// The two text colours tried on the brand colour, in this order of preference.
pub const TEXT_COLORS: [&str; 2] = ["#ffffff", "#111111"];

/// Largest launcher offset from the page's edges, in CSS pixels.
pub const MAX_OFFSET_PX: u32 = 200;

/// Longest launcher label, in characters.
pub const MAX_LAUNCHER_LABEL_CHARS: usize = 40;

/// The default launcher offset from the page's edges, in CSS pixels.
pub const DEFAULT_OFFSET_PX: u32 = 20;

/// The default stacking order: high, but below the very top so the host's own
/// overlays may still cover the widget.
pub const DEFAULT_Z_INDEX: u32 = 2_147_483_000;

/// The channel values of a colour, 0–255.
fn channels(color: &Color) -> [u8; 3] {
    let hex = color.as_str().trim_start_matches('#');
    let channel = |at: usize| {
        hex.get(at..at + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    [channel(0), channel(2), channel(4)]
}

/// WCAG's relative luminance of an sRGB colour, from 0 (black) to 1 (white).
pub fn relative_luminance(color: &Color) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = channels(color);
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// WCAG's contrast ratio of two colours, from 1 to 21, either order.
pub fn contrast_ratio(a: &Color, b: &Color) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Why no text colour is readable on a brand colour.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "brand_color {color}: neither white nor near-black text reaches a contrast of 4.5:1 on it \
     (best {best:.2}:1); pick a darker or lighter colour"
)]
pub struct ContrastError {
    pub color: String,
    pub best: f64,
}

/// The text colour for `brand`: white when it reaches 4.5:1, else near-black when that
/// does, else an error naming the colour.
pub fn text_color_for(brand: &Color) -> Result<Color, ContrastError> {
    let candidates = TEXT_COLORS.map(|c| Color::try_from(c.to_string()));
    let mut best = 0.0_f64;
    for text in candidates.into_iter().flatten() {
        let ratio = contrast_ratio(brand, &text);
        if ratio >= MIN_TEXT_CONTRAST {
            return Ok(text);
        }
        best = best.max(ratio);
    }
    Err(ContrastError {
        color: brand.as_str().to_string(),
        best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn color(hex: &str) -> Color {
        Color::try_from(hex.to_string()).expect("colour")
    }

    #[test]
    fn luminance_and_contrast_match_known_values() {
        assert!((relative_luminance(&color("#ffffff")) - 1.0).abs() < 1e-9);
        assert!(relative_luminance(&color("#000000")).abs() < 1e-9);
        assert!((contrast_ratio(&color("#000000"), &color("#ffffff")) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(&color("#777777"), &color("#777777")) - 1.0).abs() < 1e-9);
        // Published pairs (WebAIM's contrast checker): #767676 on white is 4.54:1, the
        // lightest grey that passes AA; #777777 is 4.48:1.
        let ratio =
            |a: &str, b: &str| (contrast_ratio(&color(a), &color(b)) * 100.0).round() / 100.0;
        assert_eq!(ratio("#767676", "#ffffff"), 4.54);
        assert_eq!(ratio("#777777", "#ffffff"), 4.48);
        assert_eq!(ratio("#0000ff", "#ffffff"), 8.59);
        assert_eq!(ratio("#ff0000", "#ffffff"), 4.0);
        assert_eq!(ratio("#ffffff", "#1f6feb"), ratio("#1f6feb", "#ffffff"));
    }

    #[test]
    fn text_colour_is_white_on_dark_near_black_on_light_and_refused_between() {
        assert_eq!(text_color_for(&color("#1f6feb")), Ok(color("#ffffff")));
        assert_eq!(text_color_for(&color("#000080")), Ok(color("#ffffff")));
        assert_eq!(text_color_for(&color("#ffd700")), Ok(color("#111111")));
        assert_eq!(text_color_for(&color("#ff0000")), Ok(color("#111111")));
        let refused = text_color_for(&color("#797979")).expect_err("mid grey");
        assert_eq!(refused.color, "#797979");
        assert!(refused.to_string().contains("#797979"), "{refused}");
        assert!(text_color_for(&color("#2e8b57")).is_err());
        assert!(refused.best < MIN_TEXT_CONTRAST);
    }
}
