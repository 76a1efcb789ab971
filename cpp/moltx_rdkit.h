// moltx's own bridge to RDKit: bulk atom/bond tables, scaffolds, Morgan bits, and RDKit's
// log messages captured per thread so errors carry RDKit's reason instead of printing it.
#pragma once

#include <memory>
#include <GraphMol/ROMol.h>
#include "rust/cxx.h"

namespace moltx {
struct AtomRecord;
struct BondRecord;
struct Highlight;

void init_rdkit_logs();
std::shared_ptr<RDKit::ROMol> parse_smiles(rust::Str smiles, bool sanitize);
std::shared_ptr<RDKit::ROMol> parse_molblock(rust::Str block, bool sanitize);
rust::String canonical_smiles(const std::shared_ptr<RDKit::ROMol> &mol, bool isomeric);
rust::String mol_name(const std::shared_ptr<RDKit::ROMol> &mol);
rust::Vec<rust::String> atom_symbols(const std::shared_ptr<RDKit::ROMol> &mol);
void mol_tables(const std::shared_ptr<RDKit::ROMol> &mol, rust::Vec<AtomRecord> &atoms,
                rust::Vec<BondRecord> &bonds);
rust::String murcko_scaffold_smiles(const std::shared_ptr<RDKit::ROMol> &mol);
rust::Vec<uint32_t> morgan_on_bits(const std::shared_ptr<RDKit::ROMol> &mol, uint32_t radius,
                                   uint32_t n_bits, bool use_chirality);
rust::Vec<rust::String> rdkit_descriptor_names();
rust::Vec<double> rdkit_descriptors(const std::shared_ptr<RDKit::ROMol> &mol);
rust::String svg_with_highlights(const std::shared_ptr<RDKit::ROMol> &mol,
                                 rust::Slice<const Highlight> atoms,
                                 rust::Slice<const Highlight> bonds, rust::Str legend,
                                 uint32_t width, uint32_t height, bool atom_indices);
}  // namespace moltx
