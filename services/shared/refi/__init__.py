"""Exchange with QDA software through the REFI-QDA standard (QDA-XML 1.0): .qdpx projects, .qdc codebooks.

See docs/interoperability.md. Modules: guids (stable GUIDs), safety (zip/XML hardening), reader
(.qdpx/.qdc -> QdaProject), codebook_map (codebook <-> codes), positions (offset readings),
export (.qdpx/.qdc writing), importer (new project from a file), schemas (XSD validation).
"""
from services.shared.refi.export import MACHINE_OPTIONS, export_qdc, export_qdpx
from services.shared.refi.importer import ImportReport, import_qdc, import_qdpx
from services.shared.refi.reader import read_qdc, read_qdpx

__all__ = ["MACHINE_OPTIONS", "ImportReport", "export_qdc", "export_qdpx", "import_qdc", "import_qdpx", "read_qdc",
           "read_qdpx"]
