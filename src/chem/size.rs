//! Molecule size from the text alone, before RDKit sees it.
//!
//! RDKit 2022.09 ranks atoms in time that grows about cubically with size (a linear alkane
//! takes 0.9 s at 500 carbons, 7.8 s at 1,000 and 65 s at 2,000), so one huge row would stall
//! a screen. Every parse in moltx first counts the heavy atoms a SMILES or molfile declares,
//! which costs a scan of the text, and refuses the molecule beyond a limit
//! ([`DEFAULT_MAX_HEAVY_ATOMS`] unless the caller gives another).
//!
//! The count reads only the notation's atom tokens (no chemistry): for a valid input it equals
//! the number of non-hydrogen atoms RDKit builds.

/// Default limit on heavy atoms: above every molecule of the bundled and shared data sets
/// (the largest, in HIV, has 222) and of peptides and macrocycles of a few hundred atoms,
/// and low enough that RDKit parses the largest accepted molecule in about a second.
pub const DEFAULT_MAX_HEAVY_ATOMS: usize = 500;

/// Number of heavy (non-hydrogen) atoms written in a SMILES string: bracket atoms other than
/// hydrogen (`[H]`, `[2H]`, `[H+]`) and organic-subset atoms (`B C N O P S F Cl Br I`, the
/// aromatic `b c n o p s`, and `*`). Stops at the first whitespace (a name may follow).
pub fn heavy_atoms_in_smiles(smiles: &str) -> usize {
    let text = smiles.trim_start();
    let text = text.split(char::is_whitespace).next().unwrap_or("");
    let bytes = text.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                let close = bytes[i..].iter().position(|&b| b == b']');
                let inner = &bytes[i + 1..close.map_or(bytes.len(), |c| i + c)];
                if !is_hydrogen_bracket(inner) {
                    count += 1;
                }
                match close {
                    Some(c) => i += c + 1,
                    None => break,
                }
            }
            b'B' | b'C' | b'N' | b'O' | b'P' | b'S' | b'F' | b'I' | b'*' => {
                count += 1;
                i += 1;
            }
            b'b' | b'c' | b'n' | b'o' | b'p' | b's' => {
                count += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    count
}

/// True when a bracket atom's contents (`2H`, `H+`, `H`) are a hydrogen, not `Hg`, `He`, ….
fn is_hydrogen_bracket(inner: &[u8]) -> bool {
    let element = inner
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(inner.len());
    inner.get(element) == Some(&b'H') && !inner.get(element + 1).is_some_and(u8::is_ascii_lowercase)
}

/// Number of heavy atoms an MDL molfile block declares: the non-hydrogen entries of its
/// V2000 atom block, or of its V3000 `BEGIN ATOM` block. When the block is too malformed to
/// tell, its line count (an upper bound on the atoms it can hold) stands in, so an
/// unreadable block is never let through as small.
pub fn heavy_atoms_in_molblock(block: &str) -> usize {
    count_molblock_atoms(block).unwrap_or_else(|| block.lines().count())
}

fn count_molblock_atoms(block: &str) -> Option<usize> {
    let lines: Vec<&str> = block.lines().collect();
    let counts = lines.get(3)?;
    if counts.contains("V3000") {
        let begin = lines
            .iter()
            .position(|l| l.trim_end() == "M  V30 BEGIN ATOM")?;
        let mut heavy = 0;
        for line in &lines[begin + 1..] {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(2) == Some(&"END") {
                return Some(heavy);
            }
            // "M  V30 index type x y z aamap ...": the type is the fourth field.
            if !matches!(fields.get(3), Some(&("H" | "D" | "T"))) {
                heavy += 1;
            }
        }
        return None;
    }
    let n_atoms: usize = counts.get(0..3)?.trim().parse().ok()?;
    let atom_lines = lines.get(4..4usize.checked_add(n_atoms)?)?;
    Some(
        atom_lines
            .iter()
            .filter(|l| !matches!(l.get(31..34).map(str::trim), Some("H" | "D" | "T")))
            .count(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smiles_heavy_atoms_skip_hydrogens_bonds_and_ring_digits() {
        let cases = [
            ("CCO", 3),
            ("  c1ccccc1 benzene", 6),
            ("ClC(Br)(I)F", 5),
            ("[2H]C([H])([H])[H]", 1),
            ("[Hg+2].[Cl-].[Cl-]", 3),
            ("[NH4+]", 1),
            ("C%10CCCCC%10", 6),
            ("O=C(O)c1ccccc1OC(C)=O", 13),
            ("[13CH3][He]", 2),
            ("*CC*", 4),
            ("", 0),
            ("C[", 2),
        ];
        for (smiles, n) in cases {
            assert_eq!(heavy_atoms_in_smiles(smiles), n, "{smiles}");
        }
        assert_eq!(heavy_atoms_in_smiles(&"C".repeat(2000)), 2000);
    }

    #[test]
    fn molblock_heavy_atoms_from_the_atom_block() {
        let v2000 = "water\n  moltx\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 O   0  0\n    0.9000    0.0000    0.0000 H   0  0\n   -0.9000    0.0000    0.0000 H   0  0\n  1  2  1  0\n  1  3  1  0\nM  END\n";
        assert_eq!(heavy_atoms_in_molblock(v2000), 1);
        let v3000 = "x\n  moltx\n\n  0  0  0     0  0            999 V3000\nM  V30 BEGIN CTAB\nM  V30 COUNTS 3 2 0 0 0\nM  V30 BEGIN ATOM\nM  V30 1 C 0 0 0 0\nM  V30 2 O 0 0 0 0\nM  V30 3 H 0 0 0 0\nM  V30 END ATOM\nM  V30 END CTAB\nM  END\n";
        assert_eq!(heavy_atoms_in_molblock(v3000), 2);
        // An unreadable counts line falls back to the line count, never to 0.
        assert_eq!(heavy_atoms_in_molblock("a\nb\nc\nxyz\n1\n2\n"), 6);
    }
}
