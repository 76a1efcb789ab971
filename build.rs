//! Compiles moltx's own C++ bridge to RDKit (cpp/moltx_rdkit.cc, src/chem/ffi.rs).
//! rdkit-sys links most RDKit libraries; we add the ones our bridge needs beyond them
//! (MolDraw2D and Depictor draw the SVG depictions of `chem::depict`).

fn main() {
    cxx_build::bridge("src/chem/ffi.rs")
        .file("cpp/moltx_rdkit.cc")
        .include("/usr/include/rdkit")
        .include("/usr/local/include/rdkit")
        .flag_if_supported("-std=c++17")
        .flag_if_supported("-O2")
        .flag_if_supported("-Wno-unused-parameter")
        .compile("moltx_rdkit");
    for lib in [
        "RDKitChemTransforms",
        "RDKitDescriptors",
        "RDKitMolDraw2D",
        "RDKitDepictor",
        "RDKitFingerprints",
        "RDKitFileParsers",
        "RDKitSmilesParse",
        "RDKitGraphMol",
        "RDKitRDGeneral",
        "RDKitDataStructs",
    ] {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    println!("cargo:rerun-if-changed=cpp/moltx_rdkit.cc");
    println!("cargo:rerun-if-changed=cpp/moltx_rdkit.h");
    println!("cargo:rerun-if-changed=src/chem/ffi.rs");
}
