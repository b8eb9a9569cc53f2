"""An import-linter contract of our own: an app is reached from outside only through its
public modules (``make lint`` runs it with the others in pyproject.toml).

import-linter's own contracts say what may not be imported; this one says what may: any module
of another app other than ``<app>.services``, ``<app>.selectors``, ``<app>.reporting``,
``<app>.models`` (ForeignKeys) and ``<app>.apps`` (or their submodules) breaks it. A module the
app adds later is private without anyone having to list it.
"""

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class PublicInterfacesContract(Contract):
    """Configuration: ``apps`` (the packages), ``public`` (module names below each app that
    other apps may import), ``importers`` (optional: only imports made by these packages are
    checked), ``ignore_imports`` (``importer -> imported``, each with a reason)."""

    type_name = "public_interfaces"

    apps = fields.ListField(subfield=fields.StringField())
    public = fields.ListField(subfield=fields.StringField())
    importers = fields.ListField(subfield=fields.StringField(), required=False)
    ignore_imports = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        apps: list[str] = list(self.apps)  # type: ignore[arg-type]
        public = {f"{app}.{name}" for app in apps for name in self.public}  # type: ignore[union-attr]
        ignored = {
            tuple(part.strip() for part in expression.split("->"))
            for expression in (self.ignore_imports or [])  # type: ignore[union-attr]
        }
        unmatched = set(ignored)
        importers = set(self.importers or [])  # type: ignore[arg-type]
        illegal = []
        for importer in sorted(graph.modules):
            importer_app = importer.split(".")[0]
            if importers and importer_app not in importers:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                imported_app = imported.split(".")[0]
                if imported_app not in apps or imported_app == importer_app:
                    continue
                if imported == imported_app or any(
                    imported == name or imported.startswith(f"{name}.") for name in public
                ):
                    continue
                if (importer, imported) in ignored:
                    unmatched.discard((importer, imported))
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = ", ".join(str(detail["line_number"]) for detail in details)
                illegal.append(f"{importer} -> {imported} (l.{lines})")
        warnings = [f"No such import to ignore: {a} -> {b}" for a, b in sorted(unmatched)]
        return ContractCheck(
            kept=not illegal and not unmatched, warnings=warnings, metadata={"illegal": illegal}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Imports of another app's private modules:", bold=False)
        output.new_line()
        for line in check.metadata["illegal"]:
            output.print_error(f"- {line}", bold=False)
        for warning in check.warnings:
            output.print_error(f"- {warning}", bold=False)
        output.new_line()
