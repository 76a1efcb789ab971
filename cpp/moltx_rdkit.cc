#include "moltx/cpp/moltx_rdkit.h"
#include "moltx/src/chem/ffi.rs.h"

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/ChemTransforms/ChemTransforms.h>
#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/Descriptors/Property.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

namespace moltx {
namespace {

// RDKit writes its messages to global loggers. We point them at one unbuffered stream whose
// buffer appends to a thread-local string, so each thread sees only its own messages and
// nothing reaches stderr.
thread_local std::string tl_log;

class ThreadLocalCapture : public std::streambuf {
 protected:
  int overflow(int c) override {
    if (c != traits_type::eof()) tl_log.push_back(static_cast<char>(c));
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char *s, std::streamsize n) override {
    tl_log.append(s, static_cast<size_t>(n));
    return n;
  }
};

ThreadLocalCapture capture_buf;
std::ostream capture_stream(&capture_buf);
std::once_flag logs_once;

// RDKit prefixes each message with "[hh:mm:ss] "; keep only the text, one line per message.
std::string take_log() {
  std::string out;
  std::istringstream lines(tl_log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() >= 11 && line[0] == '[' && line[9] == ']') line = line.substr(11);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  tl_log.clear();
  return out;
}

std::string reason_or(const std::string &fallback) {
  std::string logged = take_log();
  return logged.empty() ? fallback : logged;
}

template <typename F>
std::shared_ptr<RDKit::ROMol> guarded_parse(F parse, const char *what) {
  init_rdkit_logs();
  tl_log.clear();
  RDKit::RWMol *raw = nullptr;
  try {
    raw = parse();
  } catch (const std::exception &e) {
    take_log();
    throw std::runtime_error(e.what());
  } catch (...) {
    throw std::runtime_error(reason_or(std::string("unknown RDKit error while parsing ") + what));
  }
  if (raw == nullptr) throw std::runtime_error(reason_or(std::string("RDKit could not parse the ") + what));
  tl_log.clear();
  return std::shared_ptr<RDKit::ROMol>(static_cast<RDKit::ROMol *>(raw));
}

uint8_t hybridization_code(RDKit::Atom::HybridizationType h) {
  switch (h) {
    case RDKit::Atom::S: return 1;
    case RDKit::Atom::SP: return 2;
    case RDKit::Atom::SP2: return 3;
    case RDKit::Atom::SP2D: return 4;
    case RDKit::Atom::SP3: return 5;
    case RDKit::Atom::SP3D: return 6;
    case RDKit::Atom::SP3D2: return 7;
    case RDKit::Atom::UNSPECIFIED: return 0;
    default: return 8;
  }
}

uint8_t bond_type_code(RDKit::Bond::BondType t) {
  switch (t) {
    case RDKit::Bond::SINGLE: return 1;
    case RDKit::Bond::DOUBLE: return 2;
    case RDKit::Bond::TRIPLE: return 3;
    case RDKit::Bond::AROMATIC: return 4;
    default: return 0;
  }
}

uint8_t clamp_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }
int8_t clamp_i8(int v) { return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v)); }

}  // namespace

void init_rdkit_logs() {
  std::call_once(logs_once, [] {
    auto make = [](bool enabled) {
      auto logger = std::make_shared<boost::logging::rdLogger>(&capture_stream);
      logger->df_enabled = enabled;
      return logger;
    };
    rdErrorLog = make(true);
    rdWarningLog = make(true);
    rdInfoLog = make(false);
    rdDebugLog = make(false);
    rdStatusLog = make(false);
    rdAppLog = make(false);
  });
}

std::shared_ptr<RDKit::ROMol> parse_smiles(rust::Str smiles, bool sanitize) {
  std::string text(smiles);
  return guarded_parse(
      [&]() {
        RDKit::SmilesParserParams params;
        params.sanitize = sanitize;
        params.allowCXSMILES = false;
        params.parseName = false;
        return RDKit::SmilesToMol(text, params);
      },
      "SMILES");
}

std::shared_ptr<RDKit::ROMol> parse_molblock(rust::Str block, bool sanitize) {
  std::string text(block);
  return guarded_parse([&]() { return RDKit::MolBlockToMol(text, sanitize, true, true); }, "molfile");
}

rust::String canonical_smiles(const std::shared_ptr<RDKit::ROMol> &mol, bool isomeric) {
  return rust::String(RDKit::MolToSmiles(*mol, isomeric));
}

rust::String mol_name(const std::shared_ptr<RDKit::ROMol> &mol) {
  std::string name;
  mol->getPropIfPresent(RDKit::common_properties::_Name, name);
  return rust::String(name);
}

rust::Vec<rust::String> atom_symbols(const std::shared_ptr<RDKit::ROMol> &mol) {
  rust::Vec<rust::String> out;
  out.reserve(mol->getNumAtoms());
  for (const RDKit::Atom *a : mol->atoms()) out.push_back(rust::String(a->getSymbol()));
  return out;
}

void mol_tables(const std::shared_ptr<RDKit::ROMol> &mol, rust::Vec<AtomRecord> &atoms,
                rust::Vec<BondRecord> &bonds) {
  const RDKit::ROMol &m = *mol;
  RDKit::RingInfo *rings = m.getRingInfo();
  if (!rings->isInitialized()) RDKit::MolOps::findSSSR(m);
  atoms.reserve(m.getNumAtoms());
  for (const RDKit::Atom *a : m.atoms()) {
    AtomRecord r;
    r.atomic_num = clamp_u8(a->getAtomicNum());
    r.total_degree = clamp_u8(static_cast<int>(a->getTotalDegree()));
    r.formal_charge = clamp_i8(a->getFormalCharge());
    r.chiral_tag = clamp_u8(static_cast<int>(a->getChiralTag()));
    r.total_hs = clamp_u8(static_cast<int>(a->getTotalNumHs()));
    r.hybridization = hybridization_code(a->getHybridization());
    r.aromatic = a->getIsAromatic();
    r.in_ring = rings->numAtomRings(a->getIdx()) > 0;
    r.mass = static_cast<float>(a->getMass());
    atoms.push_back(r);
  }
  bonds.reserve(m.getNumBonds());
  for (const RDKit::Bond *b : m.bonds()) {
    BondRecord r;
    r.begin = b->getBeginAtomIdx();
    r.end = b->getEndAtomIdx();
    r.bond_type = bond_type_code(b->getBondType());
    r.conjugated = b->getIsConjugated();
    r.in_ring = rings->numBondRings(b->getIdx()) > 0;
    r.stereo = clamp_u8(static_cast<int>(b->getStereo()));
    r.aromatic = b->getIsAromatic();
    bonds.push_back(r);
  }
}

rust::String murcko_scaffold_smiles(const std::shared_ptr<RDKit::ROMol> &mol) {
  init_rdkit_logs();
  std::unique_ptr<RDKit::ROMol> core(RDKit::MurckoDecompose(*mol));
  tl_log.clear();
  if (!core || core->getNumAtoms() == 0) return rust::String();
  // As RDKit's Python MurckoScaffoldSmiles (what chemprop calls): refresh the property cache
  // and rings of the core, then write non-isomeric canonical SMILES.
  core->clearComputedProps();
  core->updatePropertyCache(true);
  RDKit::MolOps::symmetrizeSSSR(*core);
  return rust::String(RDKit::MolToSmiles(*core, false));
}

rust::Vec<uint32_t> morgan_on_bits(const std::shared_ptr<RDKit::ROMol> &mol, uint32_t radius,
                                   uint32_t n_bits, bool use_chirality) {
  std::unique_ptr<ExplicitBitVect> fp(RDKit::MorganFingerprints::getFingerprintAsBitVect(
      *mol, radius, n_bits, nullptr, nullptr, use_chirality));
  rust::Vec<uint32_t> on;
  std::vector<int> bits;
  fp->getOnBits(bits);
  on.reserve(bits.size());
  for (int b : bits) on.push_back(static_cast<uint32_t>(b));
  return on;
}

// RDKit's registered 2D descriptors (`Descriptors::Properties`: molecular weight, logP, TPSA,
// H-bond donors/acceptors, ring counts, chi/kappa indices, ...), in registry order.
static const RDKit::Descriptors::Properties &descriptor_set() {
  static const RDKit::Descriptors::Properties props;
  return props;
}

rust::Vec<rust::String> rdkit_descriptor_names() {
  rust::Vec<rust::String> out;
  for (const auto &name : descriptor_set().getPropertyNames()) out.push_back(rust::String(name));
  return out;
}

rust::Vec<double> rdkit_descriptors(const std::shared_ptr<RDKit::ROMol> &mol) {
  std::vector<double> values = descriptor_set().computeProperties(*mol);
  rust::Vec<double> out;
  out.reserve(values.size());
  for (double v : values) out.push_back(v);
  return out;
}

}  // namespace moltx

namespace moltx {

// A depiction by RDKit's MolDraw2DSVG with the given atoms and bonds highlighted (filled
// circles and bands in their colours). The molecule is copied; it gets 2D coordinates unless
// it already has a 2D conformer (an SDF's own layout is kept, a 3D one is laid out flat).
// Text (atom labels, the legend) is drawn with RDKit's FreeType font as outlines.
rust::String svg_with_highlights(const std::shared_ptr<RDKit::ROMol> &mol,
                                 rust::Slice<const Highlight> atoms,
                                 rust::Slice<const Highlight> bonds, rust::Str legend,
                                 uint32_t width, uint32_t height, bool atom_indices) {
  init_rdkit_logs();
  const unsigned n_atoms = mol->getNumAtoms();
  const unsigned n_bonds = mol->getNumBonds();
  std::vector<int> atom_ids, bond_ids;
  std::map<int, RDKit::DrawColour> atom_colours, bond_colours;
  std::map<int, double> radii;
  for (const Highlight &h : atoms) {
    if (h.index >= n_atoms) throw std::invalid_argument("highlighted atom index out of range");
    const int i = static_cast<int>(h.index);
    atom_ids.push_back(i);
    atom_colours[i] = RDKit::DrawColour(h.red, h.green, h.blue, h.alpha);
    radii[i] = h.radius;
  }
  for (const Highlight &h : bonds) {
    if (h.index >= n_bonds) throw std::invalid_argument("highlighted bond index out of range");
    const int i = static_cast<int>(h.index);
    bond_ids.push_back(i);
    bond_colours[i] = RDKit::DrawColour(h.red, h.green, h.blue, h.alpha);
  }
  RDKit::RWMol copy(*mol);
  if (copy.getNumConformers() == 0 || copy.getConformer().is3D()) {
    copy.clearConformers();
    RDDepict::compute2DCoords(copy);
  }
  RDKit::MolDraw2DSVG drawer(static_cast<int>(width), static_cast<int>(height));
  RDKit::MolDrawOptions &options = drawer.drawOptions();
  options.atomHighlightsAreCircles = true;
  options.fillHighlights = true;
  options.continuousHighlight = true;
  options.addAtomIndices = atom_indices;
  drawer.drawMolecule(copy, std::string(legend), &atom_ids, &bond_ids, &atom_colours,
                      &bond_colours, &radii);
  drawer.finishDrawing();
  tl_log.clear();
  return rust::String(drawer.getDrawingText());
}

}  // namespace moltx
