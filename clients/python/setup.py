"""Generates the gRPC stubs from the repository's proto/ while the package is built.

`pip install clients/python` (from the repository) runs this in the source tree: grpcio-tools'
protoc compiles ../../proto/explainme/v1/*.proto into the build folder as the `explainme.v1`
package (messages, service stubs and type stubs), beside `explainme_client`. Nothing generated
is committed.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PROTO = HERE.parent.parent / "proto"


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        from grpc_tools import protoc  # a build requirement (pyproject.toml)
        import grpc_tools

        out = Path(self.build_lib)
        sources = sorted(str(p) for p in (PROTO / "explainme" / "v1").glob("*.proto"))
        if not sources:
            raise SystemExit(f"no .proto files under {PROTO}: build from the explainme repository")
        include = Path(grpc_tools.__file__).parent / "_proto"
        status = protoc.main([
            "grpc_tools.protoc",
            f"-I{PROTO}",
            f"-I{include}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *sources,
        ])
        if status != 0:
            raise SystemExit(f"protoc failed ({status})")
        for package in (out / "explainme", out / "explainme" / "v1"):
            (package / "__init__.py").touch()


setup(cmdclass={"build_py": BuildWithStubs})
