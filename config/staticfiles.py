"""Front-end libraries from npm (package.json, installed by scripts/_node.sh) served as our own
static files — never from a CDN. Only the files pages load are exposed: node_modules/echarts/dist
alone is 51 MB of builds and source maps that collectstatic would otherwise copy."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# static path -> file under node_modules
NPM_STATIC_FILES = {
    "vendor/echarts/echarts.min.js": "echarts/dist/echarts.min.js",
    "vendor/htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
}


class NpmFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.root = settings.BASE_DIR / "node_modules"
        super().__init__(*args, **kwargs)

    def find(self, path, find_all=False, **kwargs):
        source = NPM_STATIC_FILES.get(path)
        if source is None or not (self.root / source).is_file():
            return [] if find_all else None
        found = str(self.root / source)
        return [found] if find_all else found

    def list(self, ignore_patterns):
        for static_path, source in NPM_STATIC_FILES.items():
            if (self.root / source).is_file():
                folder, name = static_path.rsplit("/", 1)
                storage = FileSystemStorage(location=str((self.root / source).parent))
                storage.prefix = folder  # collectstatic writes <prefix>/<name>
                yield name, storage
