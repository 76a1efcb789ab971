// Shim: rdkit-sys 0.4.12 includes this header, which RDKit added in 2023.09; Debian 12 ships 2022.09.
#pragma once
#include <GraphMol/FileParsers/FileParsers.h>
