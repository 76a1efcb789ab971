//! Depictions: SVG pictures of molecules drawn by RDKit's own depiction code (`MolDraw2DSVG`,
//! through the bridge), with each atom shaded by a weight, e.g. its contribution to a
//! prediction.
//!
//! Weights map to a diverging colour scale ([`diverging_colour`]: blue for negative, white
//! for zero, red for positive, ColorBrewer's RdBu), scaled by the largest magnitude in the
//! picture, so colours compare atoms within one picture and not across pictures. An atom
//! whose weight is under [`FAINT`] of that largest magnitude is not highlighted; a bond is
//! shaded by the mean of its two atoms' scaled weights when that mean is not faint. The
//! circle of an atom grows with its magnitude.
//!
//! The SVG names its molecule twice: RDKit draws the legend under the molecule (as glyph
//! outlines of its FreeType font, so the text is not searchable), and a `<title>` element
//! (the SVG's accessible name, shown by browsers as a tooltip) carries the title as text.

use super::error::ChemError;
use super::ffi::{Highlight, bridge};
use super::mol::Molecule;

/// Smallest width or height of a picture, in pixels.
pub const MIN_SIZE: u32 = 32;
/// Largest width or height of a picture, in pixels.
pub const MAX_SIZE: u32 = 4096;
/// Scaled magnitudes below this are not highlighted (they would be near-white anyway).
pub const FAINT: f64 = 0.02;
/// Opacity of the highlights, so atom labels stay legible on the darkest colours.
const OPACITY: f32 = 0.7;

/// How to draw a picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Depiction {
    /// Width in pixels ([`MIN_SIZE`]..=[`MAX_SIZE`]).
    pub width: u32,
    /// Height in pixels ([`MIN_SIZE`]..=[`MAX_SIZE`]).
    pub height: u32,
    /// Text RDKit draws under the molecule (`\n` starts a new line); control characters are
    /// drawn as spaces.
    pub legend: String,
    /// The SVG's `<title>`; `None`: the legend.
    pub title: Option<String>,
    /// Draw each atom's index next to it (the `atom` column of an attribution table).
    pub atom_indices: bool,
}

impl Default for Depiction {
    fn default() -> Self {
        Depiction {
            width: 500,
            height: 400,
            legend: String::new(),
            title: None,
            atom_indices: false,
        }
    }
}

/// Colour stops of ColorBrewer's 5-class RdBu scale, from −1 (blue) to +1 (red).
const RDBU: [[f32; 3]; 5] = [
    [0.129, 0.400, 0.675], // #2166ac
    [0.404, 0.663, 0.812], // #67a9cf
    [0.969, 0.969, 0.969], // #f7f7f7
    [0.937, 0.541, 0.384], // #ef8a62
    [0.698, 0.094, 0.169], // #b2182b
];

/// The colour (red, green, blue in 0..=1) of a scaled weight `t` in −1..=1 (clamped; NaN is
/// 0): linear between the stops of ColorBrewer's RdBu scale, blue at −1, near-white at 0,
/// red at +1.
pub fn diverging_colour(t: f64) -> [f32; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    let x = (t + 1.0) * 2.0; // 0..=4 over the four intervals
    let i = (x.floor() as usize).min(3);
    let f = (x - i as f64) as f32;
    let (a, b) = (RDBU[i], RDBU[i + 1]);
    [0, 1, 2].map(|k| a[k] * (1.0 - f) + b[k] * f)
}

/// Text with `&`, `<`, `>`, `"` and `'` escaped, and the control characters XML 1.0 forbids
/// (all below U+0020 but tab, newline and carriage return) replaced by spaces.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Why a picture cannot be drawn, as a chemistry error.
fn refused(reason: String) -> ChemError {
    ChemError::Computation {
        what: "depiction",
        reason,
    }
}

/// An SVG picture of `mol` with atom `i` shaded by `weights[i]` (one weight per atom, in
/// RDKit's atom order, all finite), drawn by RDKit's MolDraw2DSVG.
///
/// The document is UTF-8 (RDKit's declaration is rewritten so), and its `<title>` is the
/// escaped title (or legend). Errors: a weight count other than the molecule's atom count,
/// a non-finite weight, a size outside [`MIN_SIZE`]..=[`MAX_SIZE`], or RDKit failing.
pub fn svg_with_atom_weights(
    mol: &Molecule,
    weights: &[f64],
    depiction: &Depiction,
) -> Result<String, ChemError> {
    let (atoms, bonds) = mol.atoms_and_bonds()?;
    if weights.len() != atoms.len() {
        return Err(refused(format!(
            "{} weights for a molecule of {} atoms",
            weights.len(),
            atoms.len()
        )));
    }
    if let Some(i) = weights.iter().position(|w| !w.is_finite()) {
        return Err(refused(format!("the weight of atom {i} is {}", weights[i])));
    }
    for (name, size) in [("width", depiction.width), ("height", depiction.height)] {
        if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
            return Err(refused(format!(
                "{name} {size} pixels (from {MIN_SIZE} to {MAX_SIZE})"
            )));
        }
    }
    let largest = weights.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    let scaled: Vec<f64> = weights
        .iter()
        .map(|w| if largest > 0.0 { w / largest } else { 0.0 })
        .collect();
    let highlight = |index: usize, t: f64| {
        let [red, green, blue] = diverging_colour(t);
        Highlight {
            index: index as u32,
            red,
            green,
            blue,
            alpha: OPACITY,
            radius: (0.25 + 0.2 * t.abs()) as f32,
        }
    };
    let atom_marks: Vec<Highlight> = scaled
        .iter()
        .enumerate()
        .filter(|(_, t)| t.abs() >= FAINT)
        .map(|(i, &t)| highlight(i, t))
        .collect();
    let bond_marks: Vec<Highlight> = bonds
        .iter()
        .enumerate()
        .filter_map(|(k, b)| {
            let t = (scaled.get(b.begin as usize)? + scaled.get(b.end as usize)?) / 2.0;
            (t.abs() >= FAINT).then(|| highlight(k, t))
        })
        .collect();
    let legend: String = depiction
        .legend
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let svg = bridge::svg_with_highlights(
        mol.raw(),
        &atom_marks,
        &bond_marks,
        &legend,
        depiction.width,
        depiction.height,
        depiction.atom_indices,
    )
    .map_err(|e| refused(e.what().to_string()))?;
    let title = depiction.title.as_deref().unwrap_or(&depiction.legend);
    with_title(&svg, title)
}

/// The SVG with a UTF-8 XML declaration and a `<title>` as the first child of its root.
fn with_title(svg: &str, title: &str) -> Result<String, ChemError> {
    let body = match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, body)| body),
        None => svg,
    };
    let open = body
        .find("<svg")
        .and_then(|start| body[start..].find('>').map(|end| start + end + 1))
        .ok_or_else(|| refused("RDKit's drawing has no <svg> element".into()))?;
    Ok(format!(
        "<?xml version='1.0' encoding='UTF-8'?>{}\n<title>{}</title>{}",
        &body[..open],
        xml_escape(title),
        &body[open..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_scale_is_blue_white_red_and_clamped() {
        assert_eq!(diverging_colour(-1.0), RDBU[0]);
        assert_eq!(diverging_colour(0.0), RDBU[2]);
        assert_eq!(diverging_colour(1.0), RDBU[4]);
        assert_eq!(diverging_colour(7.0), RDBU[4]);
        assert_eq!(diverging_colour(f64::NAN), RDBU[2]);
        let [r, _, b] = diverging_colour(0.75);
        assert!(r > b, "positive weights are red");
        let [r, _, b] = diverging_colour(-0.75);
        assert!(b > r, "negative weights are blue");
    }

    #[test]
    fn escaping_makes_any_text_safe_in_xml() {
        assert_eq!(
            xml_escape("a<b & 'c' \"d\">\u{1}é"),
            "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt; é"
        );
    }

    #[test]
    fn a_picture_names_its_molecule_and_marks_the_weighted_atoms() {
        let mol = Molecule::from_smiles("CC(=O)Nc1ccc(O)cc1").unwrap();
        let mut weights = vec![0.0; 11];
        weights[3] = 2.0; // the nitrogen
        weights[8] = -1.0; // the hydroxyl oxygen
        let depiction = Depiction {
            legend: "paracetamol <&>".into(),
            ..Depiction::default()
        };
        let svg = svg_with_atom_weights(&mol, &weights, &depiction).unwrap();
        if let Ok(path) = std::env::var("MOLTX_DEPICT_SAMPLE") {
            std::fs::write(path, &svg).unwrap();
        }
        assert!(svg.starts_with("<?xml version='1.0' encoding='UTF-8'?>"));
        assert!(svg.contains("<title>paracetamol &lt;&amp;&gt;</title>"));
        // The two weighted atoms get circles in red and blue (RDKit truncates to bytes).
        let fills: Vec<[u8; 3]> = svg
            .split("fill:#")
            .skip(1)
            .filter_map(|s| {
                let hex = |k: usize| u8::from_str_radix(s.get(k..k + 2)?, 16).ok();
                Some([hex(0)?, hex(2)?, hex(4)?])
            })
            .collect();
        let near = |c: [f32; 3]| {
            let want = c.map(|x| (x * 255.0) as i32);
            fills
                .iter()
                .any(|f| (0..3).all(|k| (i32::from(f[k]) - want[k]).abs() <= 1))
        };
        assert!(near(diverging_colour(1.0)), "no red highlight in {svg}");
        assert!(near(diverging_colour(-0.5)), "no blue highlight in {svg}");
    }

    #[test]
    fn bad_weights_and_sizes_are_errors() {
        let mol = Molecule::from_smiles("CCO").unwrap();
        let plain = Depiction::default();
        assert!(svg_with_atom_weights(&mol, &[1.0, 2.0], &plain).is_err());
        assert!(svg_with_atom_weights(&mol, &[1.0, f64::NAN, 0.0], &plain).is_err());
        let tiny = Depiction {
            width: 3,
            ..Depiction::default()
        };
        assert!(svg_with_atom_weights(&mol, &[0.0; 3], &tiny).is_err());
        // All-zero weights draw the plain molecule.
        assert!(svg_with_atom_weights(&mol, &[0.0; 3], &plain).is_ok());
    }
}
