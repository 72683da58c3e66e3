"""Evaluates MMEngine-style config files and prints each merged config as JSON.

Run as ``python3 evaluate.py`` with one JSON request on stdin; exactly one JSON document is
written to stdout (config code's own output goes to stderr). Standard library only, Python
3.8 to 3.13.

Request::

    {"root": "/abs/workspace", "configs": ["/abs/workspace/configs/a.py", ...],
     "mmengine": "auto" | "off" | "require", "started": <ms since the epoch>}

``auto`` uses ``mmengine.Config.fromfile`` where ``import mmengine`` works in this
interpreter and the built-in implementation of MMEngine's rules otherwise; ``off`` always
uses the built-in one; ``require`` fails every config when mmengine does not import.

Response::

    {"python": {"executable": ..., "seen": <seen>, "version": "3.11.2",
                "path": [existing sys.path dirs]},
     "mmengine": "0.10.7" | null,          # null: the built-in implementation was used
     "results": [                          # one per requested config, in request order
        {"file": ..., "ok": true, "values": {...}, "read": [...], "env": {...}},
        {"file": ..., "ok": false,
         "error": {"type": ..., "message": ..., "file": ..., "line": ..., "col": ...},
         "missing": "/abs/base.py",        # only when a base / imported config is absent
         "read": [...], "env": {...}}]}

Each result also has ``absent`` (paths an open or an existence check of config code found
absent), ``probed`` (paths an existence check found: a file or a folder) and ``seen``: for
each path of ``read``, ``absent``, ``probed`` and ``missing``, what it was before it was read:
``[size, mtime_ns, ino, ctime_ns]`` (the large numbers as strings) for a file read, ``null``
when absent, ``"file"`` / ``"dir"`` for an existence check, ``"racy"`` when the stat cannot
vouch for the bytes read (the file was written within the timestamp slack of the read). The
caller records a result only when each path still is what was seen (sbuild's mmconfig.ts).

``values`` is the merged config: dicts become objects, lists and tuples arrays, classes,
functions, modules and lazy-import placeholders their dotted import path, non-finite floats
``{"$float": "nan"|"inf"|"-inf"}``, anything else ``{"$repr": ...}`` without memory
addresses. ``read`` lists every file the evaluation of that config read, in first-read
order, without the standard library and .pyc files (a .pyc counts as its source).
Files the evaluation created or truncated before reading them (MMEngine's temporary copy
of a config) are its own, not inputs.
``env`` maps each environment variable the config consulted to the value seen (null: unset).
``error.line``/``col`` (1-based) point into the user's config file that raised.

Each config is evaluated on its own: a failure never stops the others, and the working
directory, sys.path and the environment are restored after each one.

The built-in implementation follows MMEngine 0.10's Config.fromfile (old-style `_base_`
configs and pure-Python `read_base()` configs) with these differences:
- a tuple `_base_` is accepted (MMEngine wraps it in a list and fails);
- `{{_base_.x}}` placeholders get a stable suffix instead of a random one (it only shows
  when a placeholder ends up inside a larger string, which MMEngine does not support);
- stdlib modules that CPython 3.11+ freezes (os, ...) count as stdlib in pure-Python
  configs, as in MMEngine after 0.10.7;
- `package::path` bases are read from `<package>/.mim/configs/` (else the `configs/`
  next to the package); the package's model-index.yml is not consulted;
- inheritance cycles, duplicate keys and other rule violations are reported with the
  line of the `_base_` / import / assignment they come from.
"""

import ast
import builtins
import copy
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import math
import os
import platform
import re
import sys
import stat
import sysconfig
import time
import types
import warnings
from collections import OrderedDict
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))

BASE_KEY = '_base_'
DELETE_KEY = '_delete_'
DEPRECATION_KEY = '_deprecation_'
RESERVED_KEYS = ['filename', 'text', 'pretty_text', 'env_variables']
CONFIG_EXTS = ('.py', '.json', '.yaml', '.yml')

# MMEngine's table of `scope::path` prefixes to pip distribution names.
MODULE2PACKAGE = {
    'mmcls': 'mmcls', 'mmdet': 'mmdet', 'mmdet3d': 'mmdet3d', 'mmseg': 'mmsegmentation',
    'mmaction': 'mmaction2', 'mmtrack': 'mmtrack', 'mmpose': 'mmpose', 'mmedit': 'mmedit',
    'mmocr': 'mmocr', 'mmgen': 'mmgen', 'mmfewshot': 'mmfewshot', 'mmrazor': 'mmrazor',
    'mmflow': 'mmflow', 'mmhuman3d': 'mmhuman3d', 'mmrotate': 'mmrotate',
    'mmselfsup': 'mmselfsup', 'mmyolo': 'mmyolo', 'mmpretrain': 'mmpretrain',
    'mmagic': 'mmagic',
}

MISMATCH_MSG = (
    'The configuration file type in the inheritance chain must match the current '
    'configuration file type, either "lazy_import" or non-"lazy_import". ')


def _stdlib_dirs():
    """The standard library folders (site-packages below them are not stdlib)."""
    dirs = set()
    for key in ('stdlib', 'platstdlib'):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(os.path.normpath(p))
            dirs.add(os.path.realpath(p))
    return tuple(sorted(d + os.sep for d in dirs))


STDLIB_DIRS = _stdlib_dirs()


def is_site_path(path):
    return 'site-packages' in path or 'dist-packages' in path


# ---------------------------------------------------------------------------------------
# Values to JSON (deterministic: the caller hashes the result)

_ADDRESS = re.compile(r' at 0x[0-9a-fA-F]+')


def lazy_path(x):
    """Dotted path of a lazy-import placeholder (ours or MMEngine's), else None.

    Reads the instance __dict__ directly: attribute access on a placeholder would
    create another placeholder instead of failing."""
    name = type(x).__name__
    if name not in ('LazyObject', 'LazyAttr'):
        return None
    try:
        d = object.__getattribute__(x, '__dict__')
    except AttributeError:
        return None
    module = d.get('_module')
    if name == 'LazyAttr':
        return '%s.%s' % (module, d.get('name'))
    if isinstance(module, str):
        imported = d.get('_imported')
        return '%s.%s' % (module, imported) if imported else module
    if isinstance(module, (list, tuple)) and module:
        return str(module[0]).split('.')[0]  # `import a.b` binds the top-level name
    return None


def dotted_path(x):
    if isinstance(x, types.ModuleType):
        return x.__name__
    module = getattr(x, '__module__', None)
    qualname = getattr(x, '__qualname__', None) or getattr(x, '__name__', None)
    if not isinstance(qualname, str):
        return None
    return '%s.%s' % (module, qualname) if isinstance(module, str) and module else qualname


def safe_repr(x):
    try:
        if isinstance(x, (set, frozenset)):
            # Sets iterate in hash order, which varies between runs for strings.
            inner = ', '.join(sorted(safe_repr(e) for e in x))
            if isinstance(x, frozenset):
                return 'frozenset({%s})' % inner if x else 'frozenset()'
            return '{%s}' % inner if x else 'set()'
        text = repr(x)
    except Exception:
        text = '<unrepresentable %s>' % type(x).__qualname__
    return _ADDRESS.sub('', text)


CALLABLE_TYPES = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                  types.ModuleType)


def to_json(x, active=None):
    if x is None or x is True or x is False:
        return x
    if isinstance(x, str):
        return str(x)
    if isinstance(x, bool):
        return bool(x)
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x):
            return {'$float': 'nan'}
        if math.isinf(x):
            return {'$float': 'inf' if x > 0 else '-inf'}
        return float(x)
    lazy = lazy_path(x)
    if lazy is not None:
        return lazy
    if isinstance(x, (dict, list, tuple)):
        active = active if active is not None else set()
        if id(x) in active:
            return {'$repr': '<recursive %s>' % type(x).__name__}
        active.add(id(x))
        try:
            if isinstance(x, dict):
                # dict.items: MMEngine's ConfigDict.items() would build lazy objects.
                return {str(k): to_json(v, active) for k, v in dict.items(x)}
            return [to_json(v, active) for v in x]
        finally:
            active.discard(id(x))
    if isinstance(x, CALLABLE_TYPES):
        path = dotted_path(x)
        if path is not None:
            return path
    return {'$repr': safe_repr(x)}


# ---------------------------------------------------------------------------------------
# Errors

class EvalError(Exception):
    """An error found by the evaluator itself, with the place in the user's file."""

    def __init__(self, type_name, message, file=None, line=None, col=None, missing=None):
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.missing = missing


class ConfigParsingError(RuntimeError):
    """MMEngine's error for pure-Python config syntax it does not accept."""


def not_installed_message(ref, package):
    return ("the base config '%s' names the package '%s', which is not installed in %s; "
            'install it there or copy the base config into the repository'
            % (ref, package, sys.executable))


def missing_message(ref, resolved):
    return "base config '%s' not found (resolved to %s)" % (ref, resolved)


def char_col(line_text, byte_col):
    """1-based character column from CPython's 0-based UTF-8 byte offset."""
    if byte_col is None:
        return None
    if line_text is None:
        return byte_col + 1
    return len(line_text.encode('utf-8')[:byte_col].decode('utf-8', 'replace')) + 1


def tb_col(tb, source):
    """Column of the failing expression in a traceback entry (Python 3.11+), else None."""
    code = tb.tb_frame.f_code
    if not hasattr(code, 'co_positions'):
        return None
    try:
        positions = list(code.co_positions())
        lineno, _, col, _ = positions[tb.tb_lasti // 2]
    except Exception:
        return None
    if col is None or lineno != tb.tb_lineno:
        return None
    line_text = None
    if source is not None:
        lines = source.splitlines()
        if 0 < lineno <= len(lines):
            line_text = lines[lineno - 1]
    return char_col(line_text, col)


def tb_entries(exc):
    entries = []
    tb = exc.__traceback__
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    return entries


def locate_in_configs(exc, configs, sources):
    """(file, line, col) of the innermost traceback frame in a config file, else None."""
    if isinstance(exc, SyntaxError) and exc.filename in configs and exc.lineno:
        return exc.filename, exc.lineno, exc.offset or None
    for tb in reversed(tb_entries(exc)):
        filename = tb.tb_frame.f_code.co_filename
        if filename in configs:
            source = sources.get(filename)
            col = tb_col(tb, source)
            if col is None:
                col = name_col(exc, source, tb.tb_lineno)
            return filename, tb.tb_lineno, col
    return None


def name_col(exc, source, lineno):
    """Column of the undefined name of a NameError where CPython has no positions (<3.11)."""
    m = re.match(r"^name '(\w+)' is not defined", str(exc)) \
        if isinstance(exc, NameError) else None
    lines = source.splitlines() if source else []
    if m is None or not 0 < lineno <= len(lines):
        return None
    found = re.search(r'(?<![\w.])%s\b' % re.escape(m.group(1)), lines[lineno - 1])
    return found.start() + 1 if found else None


def error_message(exc):
    if isinstance(exc, SyntaxError) and exc.msg:
        return str(exc.msg)
    if (isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str)
            and ' ' in exc.args[0]):
        return exc.args[0]  # a sentence, not a missing key: without KeyError's quotes
    try:
        return str(exc)
    except Exception:
        return safe_repr(exc)


def with_file(exc, path):
    """Remembers the innermost config being evaluated when `exc` passed through it."""
    if getattr(exc, '_sbuild_file', None) is None:
        try:
            exc._sbuild_file = path
        except Exception:
            pass


# ---------------------------------------------------------------------------------------
# Tracking the files a config reads and the environment variables it consults

# Modules between os.environ and the code that reads it (os.getenv, Mapping.get / in).
ENVIRON_MODULES = ('os', '_collections_abc', 'collections.abc')
# Modules between an existence check (os.path.exists, Path.is_file) and the code asking.
PROBE_MODULES = ('os', 'genericpath', 'posixpath', 'ntpath', 'pathlib', 'pathlib._local',
                 'pathlib._abc')
# Existence checks noted when config code makes them (os.path.<name>, os.<name>).
PROBED_PATH_FUNCTIONS = ('exists', 'isfile', 'isdir')
PROBED_OS_FUNCTIONS = ('stat',)
# Modules between a folder listing (os.listdir, os.scandir) and the code asking: glob.glob,
# Path.iterdir and Path.glob list through them.
LIST_MODULES = PROBE_MODULES + ('glob', 'fnmatch', 'pathlib._local', 'pathlib._abc', 'pathlib._os')
REAL_STAT = os.stat
THIS_FILE = os.path.abspath(__file__)

# A file written this recently may be written again within the same file system timestamp
# tick, leaving its stat unchanged: such a stat cannot vouch for the bytes read after it.
# The slack of sbuild's stat cache (src/hashing/file-hasher.ts).
RACY_SLACK_NS = 50 * 1000 * 1000
# How long a file about to be read is waited for until it is old enough. A file written
# again and again, or dated in the future, is reported 'racy': its result is not cached.
RACY_WAIT_NS = 1000 * 1000 * 1000


def listing_digest(path):
    """SHA-256 of a folder's entry names, sorted and joined by newlines (rules/mmconfig.ts
    computes the same), or None when it cannot be listed."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256('\n'.join(names).encode('utf-8', 'surrogateescape')).hexdigest()


def file_kind(path):
    """'file', 'dir', 'other' (a device, unreadable) or None (absent), following links."""
    try:
        st = REAL_STAT(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        return 'other'
    if stat.S_ISREG(st.st_mode):
        return 'file'
    return 'dir' if stat.S_ISDIR(st.st_mode) else 'other'


def seen_stat(path, read_since=None):
    """What a file was before the evaluation read it, for the caller to compare with the file
    it hashes afterwards: [size, mtime_ns, ino, ctime_ns] (the large numbers as strings),
    None when absent, 'dir' / 'other' when not a file, 'racy' when the stat cannot vouch.

    A stat vouches for the bytes read after it when the file was older than the timestamp
    slack at the time: any later write then moves its mtime. `read_since`: the file was
    read already, at some time after this (ns); otherwise it is about to be read, and a file
    written too recently is waited for."""
    deadline = time.time_ns() + RACY_WAIT_NS
    while True:
        taken = time.time_ns() if read_since is None else read_since
        try:
            st = REAL_STAT(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError):
            return 'racy'
        if not stat.S_ISREG(st.st_mode):
            return 'dir' if stat.S_ISDIR(st.st_mode) else 'other'
        young = st.st_mtime_ns + RACY_SLACK_NS - taken
        if young < 0:
            return [st.st_size, str(st.st_mtime_ns), str(st.st_ino), str(st.st_ctime_ns)]
        if read_since is not None or taken + young > deadline:
            return 'racy'
        time.sleep(young / 1e9 + 0.001)


def opens_for_output(mode, flags):
    """Whether an open writes the file without reading what was there (w, a, x, w+, x+)."""
    if isinstance(mode, str):
        return 'w' in mode or 'x' in mode or ('a' in mode and '+' not in mode)
    if isinstance(flags, int):
        return (flags & os.O_ACCMODE == os.O_WRONLY
                or bool(flags & (getattr(os, 'O_TRUNC', 0) | getattr(os, 'O_EXCL', 0))))
    return False


class Tracker:
    """Records files opened for reading (an audit hook), per config window, with what each
    was before it was read (`seen`), the paths an open or an existence check of config code
    found absent, and the paths config code checked the existence of.

    Imports are tracked through a builtins.__import__ wrapper so that a module already
    imported by an earlier config still reports the files its first import read (`memo`):
    the list must not depend on which configs share the process.

    `since` (ns): when the request was made; every file this process read was read after."""

    def __init__(self, since=None):
        self.active = False
        self.since = since if since is not None else time.time_ns()
        self.seen = {}  # path -> seen_stat before its first read in this process
        self.real_probes = {}
        self.real_import = builtins.__import__
        self.excluded_dirs = [HERE + os.sep]
        self.kept = set()
        self.memo = {}
        self.wanted_cache = {}
        self.real_environ = os.environ
        self.env_proxy = self._make_env_proxy()
        self._reset()
        sys.addaudithook(self._hook)

    def _reset(self):
        self.files = OrderedDict()  # read, or found absent when opened
        self.probes = OrderedDict()  # path -> file_kind seen by an existence check
        self.listed = OrderedDict()  # folder -> listing_digest when config code listed it
        self.written = set()    # opened for output first: the evaluation's own files
        self.plain = set()      # read outside any import: config files and their data
        self.frames = []        # one dict of files per import in progress
        self.suppress = 0       # >0 inside imports made by evaluate.py or mmengine itself
        self.env = OrderedDict()

    def exclude(self, directory, keep=()):
        self.excluded_dirs.append(os.path.normpath(directory) + os.sep)
        self.kept.update(os.path.normpath(k) for k in keep)
        self.wanted_cache.clear()

    # -- window
    def start(self):
        self._reset()
        builtins.__import__ = self._import
        os.environ = self.env_proxy
        self._wrap_probes()
        self.active = True

    def stop(self):
        """(files read, paths found absent, paths checked and present, what each was seen as);
        the folders config code listed are in `listed`."""
        self.active = False
        builtins.__import__ = self.real_import
        os.environ = self.real_environ
        for (module, name), real in self.real_probes.items():
            setattr(module, name, real)
        seen = OrderedDict()
        read, absent, probed = [], [], []
        for p in self.files:
            s = seen[p] = self.seen.get(p, 'racy')
            (absent if s is None else read).append(p)
        for p, kind in self.probes.items():
            if p not in seen:
                s = seen[p] = kind if kind in (None, 'file', 'dir') else 'racy'
                (absent if s is None else probed).append(p)
        return read, absent, probed, seen

    # -- files
    def _hook(self, event, args):
        if event in ('os.listdir', 'os.scandir') and self.active and not self.suppress:
            try:
                self.listing(args[0] if args else None, sys._getframe(1))
            except Exception:
                pass  # an audit hook that raises would fail the listing itself
            return
        if event != 'open' or not self.active or self.suppress:
            return
        try:
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if path is None or isinstance(path, int):
                return
            if opens_for_output(mode, flags):
                # Made or replaced by the evaluation (MMEngine's temporary copy of a config):
                # reading it later reads no input.
                self.written.add(os.path.abspath(os.fsdecode(path)))
                return
            self.add(path)
        except Exception:
            pass  # an audit hook that raises would fail the open itself

    def wanted(self, path):
        hit = self.wanted_cache.get(path)
        if hit is None:
            hit = self._wanted(path)
            self.wanted_cache[path] = hit
        return hit

    def _wanted(self, path):
        if path in self.kept:
            return True
        if path.startswith(STDLIB_DIRS) and not is_site_path(path):
            return False
        return not any(path.startswith(d) for d in self.excluded_dirs)

    def add(self, path, read_since=None):
        """Notes a file about to be read (`read_since`: read already, after that time, ns)."""
        path = os.path.abspath(os.fsdecode(path))
        if path.endswith('.pyc'):
            try:
                path = importlib.util.source_from_cache(path)
            except (ValueError, NotImplementedError):
                return
            if read_since is None:
                # The import system chose the .pyc by the source's stat, just before this.
                read_since = time.time_ns() - RACY_SLACK_NS
        if not self.wanted(path) or path in self.written:
            return
        if path not in self.files and self.seen.get(path) is None:
            # Taken before the first read in this process; an absent path is looked at again
            # in a later window (it may have appeared since), never within one.
            self.seen[path] = seen_stat(path, read_since)
        if self.seen[path] in ('dir', 'other'):
            return  # a folder opened to list it, a device: no file's bytes
        self.files.setdefault(path, None)
        for frame in self.frames:
            frame.setdefault(path, None)
        if not self.frames:
            self.plain.add(path)

    # -- imports
    def _excluded_importer(self, globals_):
        f = (globals_ or {}).get('__file__') if isinstance(globals_, dict) else None
        if not isinstance(f, str):
            return False
        f = os.path.abspath(f)
        return f not in self.kept and any(f.startswith(d) for d in self.excluded_dirs)

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if not self.active:
            return self.real_import(name, globals, locals, fromlist, level)
        if self.suppress or self._excluded_importer(globals):
            self.suppress += 1
            try:
                return self.real_import(name, globals, locals, fromlist, level)
            finally:
                self.suppress -= 1
        names = self._import_targets(name, globals, fromlist, level)
        before = set(n for n in names if n in sys.modules)
        frame = OrderedDict()
        self.frames.append(frame)
        try:
            return self.real_import(name, globals, locals, fromlist, level)
        finally:
            self.frames.pop()
            for n in names:
                if n in before:
                    self._replay(n)
                elif n in sys.modules and n not in self.memo:
                    self.memo[n] = list(frame)

    @staticmethod
    def _import_targets(name, globals_, fromlist, level):
        target = name
        if level:
            g = globals_ if isinstance(globals_, dict) else {}
            package = g.get('__package__')
            if not package:
                modname = g.get('__name__') or ''
                package = modname if '__path__' in g else modname.rpartition('.')[0]
            try:
                target = importlib.util.resolve_name('.' * level + name, package)
            except Exception:
                return []
        if not target:
            return []
        names = [target]
        for f in fromlist or ():
            if isinstance(f, str) and f != '*':
                names.append(target + '.' + f)
        return names

    def _replay(self, name):
        files = self.memo.get(name)
        if files is None:
            # Imported before any config (by the evaluator or mmengine): read after `since`.
            module = sys.modules.get(name)
            f = getattr(module, '__file__', None)
            for p in [f] if isinstance(f, str) else []:
                self.add(p, read_since=self.since)
            return
        for f in files:
            self.add(f)

    # -- existence checks
    def _wrap_probes(self):
        if not self.real_probes:
            for name in PROBED_PATH_FUNCTIONS:
                self.real_probes[(os.path, name)] = getattr(os.path, name)
            for name in PROBED_OS_FUNCTIONS:
                self.real_probes[(os, name)] = getattr(os, name)
        for (module, name), real in self.real_probes.items():
            setattr(module, name, self._probing(real))

    def _probing(self, real):
        tracker = self

        def probe(path, *args, **kwargs):
            if tracker.active and not tracker.suppress and not kwargs.get('dir_fd'):
                tracker.probe(path, sys._getframe(1))
            return real(path, *args, **kwargs)
        probe.__wrapped__ = real
        return probe

    def probe(self, path, frame):
        """Notes what an existence check made by config code saw (a path that appears or goes
        later changes what the config computes)."""
        while frame is not None and (frame.f_code.co_filename == THIS_FILE
                                     or frame.f_globals.get('__name__') in PROBE_MODULES):
            frame = frame.f_back
        if frame is None or not self._config_code(frame.f_code):
            return
        try:
            path = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return  # a file descriptor, or not a path
        if path not in self.probes and path not in self.written and self.wanted(path):
            self.probes[path] = file_kind(path)

    def listing(self, path, frame):
        """Notes a folder listed by config code (`os.listdir('data/classes')`, `glob`): a file
        added there or removed changes what the config computes."""
        while frame is not None and (frame.f_code.co_filename == THIS_FILE
                                     or frame.f_globals.get('__name__') in LIST_MODULES):
            frame = frame.f_back
        if frame is None or not self._config_code(frame.f_code):
            return
        if path is None:
            path = '.'
        if isinstance(path, int):
            return  # a file descriptor
        try:
            path = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if path not in self.listed and self.wanted(path + os.sep):
            self.listed[path] = listing_digest(path)

    def _config_code(self, code):
        # MMEngine runs old-style config code compiled under the name ''.
        return code.co_filename in self.plain or code.co_filename == ''

    # -- environment
    def _make_env_proxy(self):
        tracker = self
        base = type(os.environ)

        class TrackedEnviron(base):
            """os.environ that notes the variables config code reads (get, [], in)."""

            def __getitem__(self, key):
                try:
                    value = base.__getitem__(self, key)
                except KeyError:
                    tracker.env_read(key, None)
                    raise
                tracker.env_read(key, value)
                return value

        proxy = TrackedEnviron.__new__(TrackedEnviron)
        proxy.__dict__.update(os.environ.__dict__)  # shares the data: writes go through
        return proxy

    def env_read(self, key, value):
        if not self.active:
            return
        f = sys._getframe(2)
        while f is not None and f.f_globals.get('__name__') in ENVIRON_MODULES:
            f = f.f_back
        if f is None:
            return
        code = f.f_code
        if code.co_filename in self.plain or code.co_name == '_substitute_env_variables':
            self.note_env(key, value)

    def note_env(self, key, value):
        self.env.setdefault(str(key), value)


# ---------------------------------------------------------------------------------------
# ConfigDict and lazy imports, as MMEngine's config module defines them

class ConfigDict(dict):
    """A dict with attribute access whose nested plain dicts become ConfigDicts.

    Mirrors mmengine.ConfigDict (an addict.Dict): missing keys raise, `update` merges
    nested dicts, `merge` also honours `_delete_`. Lazy objects are never built here."""

    def __init__(self, *args, **kwargs):
        kwargs.pop('__parent', None)
        kwargs.pop('__key', None)
        super().__init__()
        for arg in args:
            if not arg:
                continue
            if isinstance(arg, ConfigDict):
                pairs = dict.items(arg)
            elif isinstance(arg, dict):
                pairs = arg.items()
            elif isinstance(arg, tuple) and not isinstance(arg[0], tuple):
                pairs = [(arg[0], arg[1])]
            else:
                pairs = iter(arg)
            for key, val in pairs:
                self[key] = val
        for key, val in dict.items(kwargs):
            self[key] = val

    @classmethod
    def _hook(cls, item):
        # Only plain dicts are converted: a user's dict subclass stays as it is.
        if type(item) in (dict, OrderedDict):
            return cls(item)
        if isinstance(item, (list, tuple)):
            return type(item)(cls._hook(elem) for elem in item)
        return item

    def __missing__(self, name):
        raise KeyError(name)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError("'%s' object has no attribute '%s'"
                                 % (self.__class__.__name__, name))

    def __setattr__(self, name, value):
        if hasattr(self.__class__, name):
            raise AttributeError("'Dict' object attribute '%s' is read-only" % name)
        self[name] = value

    def __delattr__(self, name):
        del self[name]

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, self._hook(value))

    def __deepcopy__(self, memo):
        other = self.__class__()
        memo[id(self)] = other
        for key, value in dict.items(self):
            other[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        return other

    def __copy__(self):
        other = self.__class__()
        for key, value in dict.items(self):
            other[key] = value
        return other

    copy = __copy__

    def __reduce_ex__(self, proto):
        return (self.__class__, (dict(dict.items(self)),))

    def pop(self, key, default=None):
        return dict.pop(self, key, default)

    def setdefault(self, key, default=None):
        if key in self:
            return self[key]
        self[key] = default
        return default

    def update(self, *args, **kwargs):
        other = {}
        if args:
            if len(args) > 1:
                raise TypeError('update only accept one positional argument')
            for key, value in dict.items(args[0]):
                other[key] = value
        for key, value in dict(kwargs).items():
            other[key] = value
        for k, v in other.items():
            if k not in self or not isinstance(self[k], dict) or not isinstance(v, dict):
                self[k] = self._hook(v)
            else:
                self[k].update(v)

    def merge(self, other):
        default = object()

        def merge_a_into_b(a, b):
            if isinstance(a, dict):
                if not isinstance(b, dict):
                    a.pop(DELETE_KEY, None)
                    return a
                if a.pop(DELETE_KEY, False):
                    b.clear()
                all_keys = list(b.keys()) + list(a.keys())
                return {key: merge_a_into_b(a.get(key, default), b.get(key, default))
                        for key in all_keys if key != DELETE_KEY}
            return a if a is not default else b

        merged = merge_a_into_b(copy.deepcopy(other), copy.deepcopy(self))
        self.clear()
        for key, value in merged.items():
            self[key] = value

    def __or__(self, other):
        if not isinstance(other, dict):
            return NotImplemented
        new = ConfigDict(self)
        new.update(other)
        return new

    def __ior__(self, other):
        self.update(other)
        return self

    def __add__(self, other):
        if not self.keys():
            return other
        raise TypeError("unsupported operand type(s) for +: '%s' and '%s'"
                        % (type(self).__name__, type(other).__name__))

    def __eq__(self, other):
        if isinstance(other, ConfigDict):
            return other.to_dict() == self.to_dict()
        if isinstance(other, dict):
            return dict(dict.items(self)) == other
        return False

    __hash__ = None

    def to_dict(self):
        def convert(x):
            if isinstance(x, dict):
                return {k: convert(v) for k, v in dict.items(x)}
            if isinstance(x, (list, tuple)):
                return type(x)(convert(v) for v in x)
            path = lazy_path(x)
            return path if path is not None else x
        return convert(self)


class LazyObject:
    """Placeholder for a module or name imported by a pure-Python config; never imported."""

    def __init__(self, module, imported=None, location=None):
        self._module = module
        self._imported = imported
        self.location = location

    @property
    def module(self):
        if isinstance(self._module, str):
            return self._module
        return self._module[0].split('.')[0]

    def build(self):
        raise RuntimeError('sbuild does not import %s while reading configs' % lazy_path(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError()

    def __deepcopy__(self, memo):
        return LazyObject(self._module, self._imported, self.location)

    def __getattr__(self, name):
        location = self.location.split(', line')[0] if self.location else self.location
        return LazyAttr(name, self, location)

    def __str__(self):
        return self._imported if self._imported is not None else self.module

    __repr__ = __str__

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__ = state


class LazyAttr:
    """An attribute of a LazyObject (`models.RetinaNet`): a longer dotted path."""

    def __init__(self, name, source, location=None):
        self.name = name
        self.source = source
        if isinstance(source, LazyObject):
            if isinstance(source._module, str):
                self._module = (source._module if source._imported is None
                                else '%s.%s' % (source._module, source))
            else:
                self._module = str(source)
        else:
            self._module = '%s.%s' % (source._module, source.name)
        self.location = location

    @property
    def module(self):
        return self._module

    def build(self):
        raise RuntimeError('sbuild does not import %s while reading configs' % lazy_path(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError()

    def __getattr__(self, name):
        return LazyAttr(name, self)

    def __deepcopy__(self, memo):
        return LazyAttr(self.name, self.source)

    def __str__(self):
        return self.name

    __repr__ = __str__

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__ = state


@contextmanager
def read_base():
    """Marks the base-config imports of a pure-Python config (a no-op when run)."""
    yield


@contextmanager
def mmengine_stand_in():
    """`from mmengine.config import read_base` must work without mmengine installed.

    The stand-in modules live in sys.modules only while a config is evaluated; whatever was
    there before (a real mmengine included) is put back afterwards."""
    names = ('mmengine', 'mmengine.config')
    saved = {n: sys.modules[n] for n in names if n in sys.modules}
    package = types.ModuleType('mmengine')
    package.__spec__ = importlib.machinery.ModuleSpec('mmengine', None, is_package=True)
    package.__path__ = []
    config = types.ModuleType('mmengine.config')
    config.__spec__ = importlib.machinery.ModuleSpec('mmengine.config', None)
    config.read_base = read_base
    config.ConfigDict = ConfigDict
    config.LazyObject = LazyObject
    config.LazyAttr = LazyAttr
    package.config = config
    sys.modules.update({'mmengine': package, 'mmengine.config': config})
    try:
        yield
    finally:
        for n in names:
            if n in saved:
                sys.modules[n] = saved[n]
            else:
                sys.modules.pop(n, None)


# ---------------------------------------------------------------------------------------
# The built-in implementation: state of one config's evaluation

class Context:
    def __init__(self, tracker):
        self.tracker = tracker
        self.configs = []        # config files read, in order
        self.sources = {}        # path -> text that was compiled (for columns)
        self.raw = {}            # path -> text as read
        self.stack = []          # configs being evaluated, outermost first
        self.spec_cache = {}

    def read(self, path):
        if path not in self.raw:
            self.tracker.add(path)
            if path not in self.configs:
                self.configs.append(path)
            try:
                with open(path, encoding='utf-8') as f:
                    self.raw[path] = f.read()
            except UnicodeDecodeError as e:
                raise EvalError('UnicodeDecodeError', str(e), path)
        return self.raw[path]

    def enter(self, path, load):
        """Runs load(path, self) for a config or base, refusing inheritance cycles."""
        if path in self.stack:
            chain = self.stack[self.stack.index(path):] + [path]
            raise EvalError('RecursionError', 'config inheritance cycle: '
                            + ' -> '.join(chain), self.stack[-1])
        self.stack.append(path)
        try:
            return load(path, self)
        except BaseException as e:
            with_file(e, path)
            raise
        finally:
            self.stack.pop()

    def find_spec(self, name):
        if name not in self.spec_cache:
            try:
                self.spec_cache[name] = importlib.util.find_spec(name)
            except Exception:
                self.spec_cache[name] = None
        return self.spec_cache[name]


def parse(text, path):
    return ast.parse(text, filename=path)


def python_root_prefixes():
    # MMEngine's own test (the interpreter's prefix, Debian's /usr/lib/python), plus the
    # stdlib folders so that a venv's stdlib counts too.
    root = os.path.dirname(os.path.dirname(sys.executable))
    return (root, '/usr/lib/python') + STDLIB_DIRS


def is_builtin_module(name, ctx):
    """MMEngine's test for imports run for real (stdlib) rather than made lazy."""
    if name.startswith('.'):
        return False
    if name.startswith('mmengine.config'):
        return True
    if name in sys.builtin_module_names:
        return True
    spec = ctx.find_spec(name.split('.')[0])
    if spec is None:
        return False
    origin = getattr(spec, 'origin', None)
    if origin is None:
        return False
    if origin in ('frozen', 'built-in'):
        return True
    origin = os.path.abspath(origin)
    if is_site_path(origin):
        return False
    return origin.startswith(python_root_prefixes())


# Parsed forms of config text, shared by all configs of one request. They are keyed by the
# path and the exact text and never changed once stored, so caching cannot change a result.
IMPORT_EVENTS = {}
OLD_STYLE_CODE = {}


def import_events(raw, path):
    """What Config._is_lazy_import looks at, in ast.walk order: `_base_ =`, `with`,
    `from x import ...` and `import x` statements (cached)."""
    key = (path, raw)
    events = IMPORT_EVENTS.get(key)
    if events is None:
        events = []
        for node in ast.walk(parse(raw, path)):
            if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == BASE_KEY):
                events.append(('base',))
                break  # the walk ends at the first `_base_` or `with`
            if isinstance(node, ast.With):
                events.append(('with', node))
                break
            if isinstance(node, ast.ImportFrom):
                events.append(('from', node.level, node.module,
                               tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                events.append(('import', tuple(a.name for a in node.names)))
        IMPORT_EVENTS[key] = events
    return events


def is_lazy_import(raw, ctx, path):
    """True for a pure-Python ("lazy import") config, as Config._is_lazy_import decides."""
    for event in import_events(raw, path):
        kind = event[0]
        if kind == 'base':
            return False
        if kind == 'with':
            check_read_base(event[1], path)
            return True
        if kind == 'from':
            _, level, module, names = event
            if level != 0:
                return True
            if module == 'mmengine' and names == ('Config',):
                continue
            if not isinstance(module, str):
                continue
            if not is_builtin_module(module, ctx):
                return True
        if kind == 'import':
            if any(not is_builtin_module(name, ctx) for name in event[1]):
                return True
    return False


def check_read_base(node, path):
    expr = node.items[0].context_expr
    if (not isinstance(expr, ast.Call) or not isinstance(expr.func, ast.Name)
            or expr.func.id != 'read_base' or len(node.items) > 1):
        raise EvalError('ConfigParsingError',
                        'Only `read_base` context manager can be used in the config',
                        path, node.lineno, node.col_offset + 1)


def line_of(text, pos):
    return text.count('\n', 0, pos) + 1


def top_level_line(tree, key):
    """Line of the last top-level statement that binds `key` (for merge errors)."""
    line = None
    for node in getattr(tree, 'body', []):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for t in targets:
            names = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
            if any(isinstance(n, ast.Name) and n.id == key for n in names):
                line = node.lineno
    return line


# ---------------------------------------------------------------------------------------
# Old-style configs (`_base_ = [...]`): Config._file2dict

PREDEFINED = ('fileDirname', 'fileBasename', 'fileBasenameNoExtension', 'fileExtname')
ENV_PATTERN = re.compile(r'\{\{[\'\"]?\s*\$(\w+)\s*\:\s*(\S*?)\s*[\'\"]?\}\}')
BASE_VAR_PATTERN = re.compile(r'\{\{\s*' + BASE_KEY + r'\.([\w\.]+)\s*\}\}')


def substitute_predefined(text, path):
    base = os.path.basename(path)
    values = {
        'fileDirname': os.path.dirname(path),
        'fileBasename': base,
        'fileBasenameNoExtension': os.path.splitext(base)[0],
        'fileExtname': os.path.splitext(path)[1],
    }
    for key in PREDEFINED:
        value = values[key].replace('\\', '/')
        text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', value, text)
    return text


def substitute_env(text, path, ctx):
    """`{{$NAME:default}}`, replaced textually as MMEngine does (the default goes into a
    regular expression unescaped, as there)."""
    environ = ctx.tracker.real_environ
    for match in list(ENV_PATTERN.finditer(text)):
        name, value = match.group(1), match.group(2)
        pattern = (r'\{\{[\'\"]?\s*\$' + name + r'\s*\:\s*' + value
                   + r'\s*[\'\"]?\}\}')
        ctx.tracker.note_env(name, environ.get(name))
        if name in environ:
            value = environ[name]
        if not value:
            raise EvalError('KeyError', '`%s` cannot be found in `os.environ`. Please set '
                            '`%s` in environment or give a default value.' % (name, name),
                            path, line_of(text, match.start()), None)
        text = re.sub(pattern, value, text)
    return text


def pre_substitute_base_vars(text, path):
    """`{{_base_.a.b}}` becomes a unique string, replaced by the value after exec.

    MMEngine uses a random suffix; a hash of the file and name keeps output stable."""
    placeholders = {}
    for name in sorted(set(BASE_VAR_PATTERN.findall(text))):
        digest = hashlib.sha1((path + '\0' + name).encode('utf-8')).hexdigest()[:6]
        key = '_%s_%s' % (name, digest)
        placeholders[key] = name
        text = re.sub(r'\{\{\s*' + BASE_KEY + r'\.' + name + r'\s*\}\}', '"%s"' % key, text)
    return text, placeholders


def lookup_base_var(name, base_cfg, path, raw):
    value = base_cfg
    for part in name.split('.'):
        try:
            value = value[part]
        except Exception as e:
            pos = raw.find(BASE_KEY + '.' + name)
            raise EvalError(type(e).__name__,
                            "{{_base_.%s}}: %r not found in the base configs (%s)"
                            % (name, part, error_message(e)), path,
                            line_of(raw, pos) if pos >= 0 else None)
    return value


def substitute_base_vars(cfg, placeholders, base_cfg, path, raw):
    """Config._substitute_base_vars: placeholders become the base values.

    MMEngine deep-copies the value again at every level, which leaves no container shared
    between two places (`test_dataloader = val_dataloader` become two dicts; that decides
    how a shared dict with `_delete_=True` merges). This one pass copies each container
    once per place, with the same result."""
    def sub(x):
        if isinstance(x, str):
            return lookup_base_var(placeholders[x], base_cfg, path, raw) \
                if x in placeholders else x
        kind = type(x)
        if kind is dict or kind is ConfigDict:
            out = kind()
            for k, v in dict.items(x):
                out[k] = sub(v)
            return out
        if kind is list:
            return [sub(c) for c in x]
        if kind is tuple:
            return tuple(sub(c) for c in x)
        if isinstance(x, (dict, list, tuple)):  # other container types: MMEngine's steps
            return substitute_base_vars_literal(x, placeholders, base_cfg, path, raw)
        return copy.deepcopy(x)
    return sub(cfg)


def substitute_base_vars_literal(cfg, placeholders, base_cfg, path, raw):
    cfg = copy.deepcopy(cfg)
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            if isinstance(v, str) and v in placeholders:
                cfg[k] = lookup_base_var(placeholders[v], base_cfg, path, raw)
            elif isinstance(v, (list, tuple, dict)):
                cfg[k] = substitute_base_vars(v, placeholders, base_cfg, path, raw)
    elif isinstance(cfg, tuple):
        cfg = tuple(substitute_base_vars(c, placeholders, base_cfg, path, raw) for c in cfg)
    elif isinstance(cfg, list):
        cfg = [substitute_base_vars(c, placeholders, base_cfg, path, raw) for c in cfg]
    return cfg


def base_entries(text, node, path, ext):
    """The `_base_` entries of a config; `node` is its `_base_ =` statement (.py)."""
    if ext != '.py':
        data = load_data(text, ext, path)
        value = data.get(BASE_KEY, []) if isinstance(data, dict) else []
    elif node is None:
        return []
    else:
        try:
            value = eval(compile(ast.Expression(body=node.value), '', 'eval'),
                         {'os': os, 'osp': os.path})
        except Exception as e:
            raise EvalError(type(e).__name__, '_base_: %s' % error_message(e), path,
                            node.lineno, node.col_offset + 1)
    if isinstance(value, tuple):
        value = list(value)  # MMEngine 0.10 wraps a tuple in a list and then fails
    elif not isinstance(value, list):
        value = [value]
    return value


def entry_location(node, entry):
    if node is None:
        return None, None
    for sub in ast.walk(node.value):
        if isinstance(sub, ast.Constant) and sub.value == entry:
            return sub.lineno, sub.col_offset + 1
    return node.lineno, node.col_offset + 1


def installed_package_dir(module, ctx):
    """Folder of an installed top-level package, or None (find_spec imports nothing)."""
    spec = ctx.find_spec(module)
    if spec is not None and spec.origin not in (None, 'namespace'):
        return os.path.dirname(spec.origin)
    try:
        import importlib.metadata as metadata
        dist = metadata.distribution(MODULE2PACKAGE.get(module, module))
        path = str(dist.locate_file(module))
        return path if os.path.isdir(path) else None
    except Exception:
        return None


def resolve_base(entry, path, node, ctx):
    """Absolute path and scope of one `_base_` entry (Config._get_cfg_path)."""
    line, col = entry_location(node, entry)
    if not isinstance(entry, str):
        raise EvalError('TypeError', '_base_ entries must be paths (str), got %s'
                        % type(entry).__name__, path, line, col)
    if '::' not in entry:
        resolved = os.path.abspath(os.path.join(os.path.dirname(path), entry))
        if not os.path.isfile(resolved):
            raise EvalError('FileNotFoundError', missing_message(entry, resolved), path,
                            line, col, missing=resolved)
        return resolved, None
    scope = entry.partition('::')[0]
    if re.match(r'\w*::\w*/\w*', entry) is None:
        raise EvalError('ValueError', 'a package base config is written like '
                        '`mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py`, got %r' % entry,
                        path, line, col)
    if entry.count('::') > 1:
        raise EvalError('ValueError', '`::` should only be used to separate package and '
                        'config name, but found multiple `::` in %s' % entry, path, line, col)
    rel = entry.split('::')[1]
    if scope not in MODULE2PACKAGE:
        raise EvalError('AssertionError', 'mmengine does not support to load %s config.'
                        % scope, path, line, col)
    package_dir = installed_package_dir(scope, ctx)
    if package_dir is None:
        raise EvalError('ModuleNotFoundError', not_installed_message(entry, scope), path,
                        line, col)
    # MMEngine reads `<package>/.mim/configs/<path>`; an editable install keeps the
    # configs next to the package instead.
    candidates = [os.path.join(package_dir, '.mim', 'configs', rel),
                  os.path.join(os.path.dirname(package_dir), 'configs', rel)]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.abspath(candidate), scope
    resolved = os.path.abspath(candidates[0])
    raise EvalError('FileNotFoundError', missing_message(entry, resolved), path, line, col,
                    missing=resolved)


def load_data(text, ext, path):
    """A .json/.yaml config's data (MMEngine's `load`)."""
    if ext == '.json':
        try:
            return json.loads(text)
        except ValueError as e:
            raise EvalError(type(e).__name__, str(e), path, getattr(e, 'lineno', None),
                            getattr(e, 'colno', None))
    try:
        import yaml
    except ImportError:
        raise EvalError('ModuleNotFoundError', 'reading a YAML config needs PyYAML, which '
                        'is not installed in %s' % sys.executable, path)
    loader = getattr(yaml, 'CLoader', yaml.Loader)
    return yaml.load(io.StringIO(text), Loader=loader)


class RemoveBaseAssign(ast.NodeTransformer):
    def visit_Assign(self, node):
        if isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY:
            return None
        return node


def compile_old_style(text, path):
    """(tree, `_base_ =` node or None, code or None) of an old-style config (cached).

    The code runs without its `_base_ =` statements, as in MMEngine. A compile error is
    not kept: exec_old_style raises it again in MMEngine's order (after the bases)."""
    key = (path, text)
    hit = OLD_STYLE_CODE.get(key)
    if hit is None:
        tree = parse(text, path)
        node = next((c for c in tree.body if isinstance(c, ast.Assign)
                     and isinstance(c.targets[0], ast.Name) and c.targets[0].id == BASE_KEY),
                    None)
        tree = RemoveBaseAssign().visit(tree)
        try:
            code = compile(tree, path, 'exec')
        except Exception:
            code = None
        hit = OLD_STYLE_CODE[key] = (tree, node, code)
    return hit


def exec_old_style(tree, code, path, base_cfg):
    if code is None:
        code = compile(tree, path, 'exec')
    namespace = {BASE_KEY: base_cfg}
    exec(code, namespace)
    return {k: v for k, v in namespace.items() if k != BASE_KEY and not k.startswith('__')}


class MergeConflict(Exception):
    def __init__(self, message, top_key):
        super().__init__(message)
        self.top_key = top_key


def merge_a_into_b(a, b, top_key=None):
    """Config._merge_a_into_b: child `a` over base `b`, copying `b` level by level."""
    b = b.copy()
    for k, v in a.items():
        top = k if top_key is None else top_key
        if isinstance(v, dict):
            if k in b and not v.pop(DELETE_KEY, False):
                if not isinstance(b[k], dict):
                    raise MergeConflict(
                        '%s=%s in child config cannot inherit from base because %s is a '
                        'dict in the child config but is of type %s in base config. You '
                        'may set `%s=True` to ignore the base config.'
                        % (k, v, k, type(b[k]), DELETE_KEY), top)
                b[k] = merge_a_into_b(v, b[k], top)
            else:
                b[k] = ConfigDict(v)
        else:
            b[k] = v
    return b


def dict_to_config_dict(cfg, scope=None, has_scope=True):
    """Config._dict_to_config_dict: every dict becomes a new ConfigDict, every list or tuple
    a new list or tuple; a package base's outermost dicts with a `type` get `_scope_`.

    MMEngine converts each level again from the top; converting once gives the same."""
    if isinstance(cfg, dict):
        if has_scope and 'type' in cfg:
            has_scope = False
            if scope is not None and cfg.get('_scope_', None) is None:
                cfg['_scope_'] = scope
        out = ConfigDict()
        for key, value in dict.items(cfg):
            dict.__setitem__(out, key, dict_to_config_dict(value, scope, has_scope))
        object.__setattr__(out, 'scope', scope)
        return out
    if isinstance(cfg, tuple):
        return tuple(dict_to_config_dict(c, scope, has_scope) for c in cfg)
    if isinstance(cfg, list):
        return [dict_to_config_dict(c, scope, has_scope) for c in cfg]
    return cfg


def file2dict(path, ctx):
    """One old-style config (or .json/.yaml) with its bases merged in."""
    ext = os.path.splitext(path)[1]
    if ext not in CONFIG_EXTS:
        raise EvalError('OSError', 'Only py/yml/yaml/json type are supported now!', path)
    raw = ctx.read(path)
    if ext == '.py' and is_lazy_import(raw, ctx, path):
        raise EvalError('RuntimeError', MISMATCH_MSG + 'You got this error since you use the '
                        'syntax like `with read_base(): ...` or import non-builtin module in '
                        '%s.' % path, path)
    text = substitute_predefined(raw, path)
    text = substitute_env(text, path, ctx)
    text, placeholders = pre_substitute_base_vars(text, path)
    ctx.sources[path] = text
    tree, node, code = compile_old_style(text, path) if ext == '.py' else (None, None, None)
    entries = base_entries(text, node, path, ext)

    base_cfg = ConfigDict()
    for entry in entries:
        base_path, scope = resolve_base(entry, path, node, ctx)
        sub = ctx.enter(base_path, file2dict)
        duplicates = set(base_cfg.keys()) & set(sub.keys())
        if duplicates:
            line, col = entry_location(node, entry)
            keys = ', '.join(repr(k) for k in sorted(duplicates, key=str))
            raise EvalError('KeyError', 'Duplicate key is not allowed among bases. Duplicate '
                            'keys: {%s}' % keys, path, line, col)
        base_cfg.update(dict_to_config_dict(sub, scope))

    if ext == '.py':
        cfg = exec_old_style(tree, code, path, base_cfg)
    else:
        cfg = load_data(text, ext, path)
        if not isinstance(cfg, dict):
            raise EvalError('TypeError', 'a config file must hold a mapping, got %s'
                            % type(cfg).__name__, path)
    for key, value in list(cfg.items()):
        if isinstance(value, (types.FunctionType, types.ModuleType)):
            cfg.pop(key)
    if DEPRECATION_KEY in cfg:
        info = cfg.pop(DEPRECATION_KEY)
        warnings.warn('The config file %s will be deprecated in the future. %s'
                      % (path, info), DeprecationWarning)
    cfg = substitute_base_vars(cfg, placeholders, base_cfg, path, raw)
    cfg.pop(BASE_KEY, None)
    try:
        merged = merge_a_into_b(cfg, base_cfg)
    except MergeConflict as e:
        raise EvalError('TypeError', str(e), path, top_level_line(tree, e.top_key))
    return {k: v for k, v in merged.items() if not str(k).startswith('__')}


# ---------------------------------------------------------------------------------------
# Pure-Python configs (`with read_base(): from .x import *`): Config._parse_lazy_import

def base_modules(body, path):
    """Flattens the first top-level `with read_base():` into the module body and returns
    [(module as written, import node)]."""
    for idx, node in enumerate(body):
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == BASE_KEY):
            raise EvalError('ConfigParsingError', MISMATCH_MSG + 'You got this error since '
                            'you use the syntax like `_base_ = "_base_"` in your config. You '
                            'should use `with read_base(): ...` to mark the inherited config '
                            'file.', path, node.lineno, node.col_offset + 1)
        if not isinstance(node, ast.With):
            continue
        check_read_base(node, path)
        body[idx:idx + 1] = node.body
        found = []
        for sub in node.body:
            if not isinstance(sub, ast.ImportFrom):
                raise EvalError('AssertionError', 'Illegal syntax in config! Only `from ... '
                                'import ...` could be implemented` in with read_base()`',
                                path, sub.lineno, sub.col_offset + 1)
            if sub.module is None:
                raise EvalError('AssertionError', 'Illegal syntax in config! Syntax like '
                                '`from . import xxx` is not allowed in `with read_base()`',
                                path, sub.lineno, sub.col_offset + 1)
            found.append((sub.level * '.' + sub.module, sub))
        return found
    return []


def resolve_base_module(module, path, node, ctx):
    """File of a base imported in `read_base()`: relative to `path`, or in a package."""
    line, col = node.lineno, node.col_offset + 1
    level = len(module) - len(module.lstrip('.'))
    if level > 0:
        parts = ['..'] * (level - 1)
        resolved = os.path.join(os.path.dirname(path), *parts)
        resolved = os.path.join(resolved, module[level:].replace('.', '/') + '.py')
    else:
        parts = module.split('.')
        if len(parts) == 1:
            raise EvalError('ConfigParsingError', 'The imported configuration file should not '
                            'be an independent package %s. Here is an example: `with '
                            'read_base(): from mmdet.configs.retinanet_r50_fpn_1x_coco '
                            'import *`' % parts[0], path, line, col)
        root = installed_package_dir(parts[0], ctx)
        if root is None:
            raise EvalError('ModuleNotFoundError', not_installed_message(module, parts[0]),
                            path, line, col)
        resolved = os.path.join(root, *parts[1:]) + '.py'
    resolved = os.path.abspath(resolved)
    if not os.path.isfile(resolved):
        raise EvalError('FileNotFoundError', missing_message(module, resolved), path, line,
                        col, missing=resolved)
    return resolved


def lazy_assign(target, module, imported, location, node):
    """`target = LazyObject(module, imported, location)` placed at `node`'s line."""
    args = [ast.Constant(module)]
    if imported is not None:
        args.append(ast.Constant(imported))
    call = ast.Call(func=ast.Name('LazyObject', ast.Load()), args=args,
                    keywords=[ast.keyword('location', ast.Constant(location))])
    assign = ast.Assign(targets=[ast.Name(target, ast.Store())], value=call)
    return ast.copy_location(assign, node)


class ImportTransformer(ast.NodeTransformer):
    """Base imports fill the namespace; other non-stdlib imports become LazyObjects."""

    def __init__(self, namespace, bases, path, ctx):
        super().__init__()
        self.namespace = namespace
        self.bases = bases
        self.path = path
        self.ctx = ctx
        self.imported = set()

    def visit_ImportFrom(self, node):
        module = '%s%s' % (node.level * '.', node.module)
        if is_builtin_module(module, self.ctx):
            for alias in node.names:
                if alias.name == '*' and alias.asname is None:
                    raise EvalError('ConfigParsingError', 'Cannot import * from non-base '
                                    'config', self.path, node.lineno, node.col_offset + 1)
                self.imported.add(alias.asname or alias.name)
            return node
        if module in self.bases:
            base = self.bases[module]
            for alias in node.names:
                if alias.name == '*':
                    self.namespace.update(base)
                    return None
                if alias.name not in base:
                    raise EvalError('ImportError', "cannot import name '%s' from base config "
                                    "'%s'" % (alias.name, module), self.path, node.lineno,
                                    node.col_offset + 1)
                self.namespace[alias.asname or alias.name] = dict.__getitem__(base, alias.name)
            return None
        nodes = []
        for alias in node.names:
            lineno = getattr(alias, 'lineno', node.lineno)
            if alias.name == '*':
                raise EvalError('ConfigParsingError', 'Illegal syntax in config! `from xxx '
                                'import *` is not allowed to appear outside the `if base:` '
                                'statement', self.path, node.lineno, node.col_offset + 1)
            target = alias.asname or alias.name
            location = '%s, line %d' % (self.path, lineno)
            nodes.append(lazy_assign(target, module, alias.name, location, node))
            self.imported.add(target)
        return nodes

    def visit_Import(self, node):
        if len(node.names) != 1:
            raise EvalError('AssertionError', 'Illegal syntax in config! import multiple '
                            'modules in one line is not supported', self.path, node.lineno,
                            node.col_offset + 1)
        alias = node.names[0]
        if alias.asname is None:
            return node  # gathered by gather_abs_imports
        self.imported.add(alias.asname)
        if is_builtin_module(alias.name.split('.')[0], self.ctx):
            return node
        location = '%s, line %d' % (self.path, node.lineno)
        return lazy_assign(alias.asname, alias.name, None, location, node)


def gather_abs_imports(tree, path, ctx):
    """`import a.b` / `import a.c` at top level become one `a = LazyObject([...])`."""
    imported = OrderedDict()
    first = {}
    body = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_builtin_module(alias.name, ctx):
                    body.append(node)
                    continue
                top = alias.name.split('.')[0]
                first.setdefault(top, node)
                imported.setdefault(top, []).append(alias.name)
            continue
        body.append(node)
    for top, names in imported.items():
        node = first[top]
        call = ast.Call(func=ast.Name('LazyObject', ast.Load()),
                        args=[ast.List([ast.Constant(n) for n in names], ast.Load())],
                        keywords=[ast.keyword('location', ast.Constant(
                            '%s, line %d' % (path, node.lineno)))])
        assign = ast.copy_location(ast.Assign(targets=[ast.Name(top, ast.Store())],
                                              value=call), node)
        body.insert(0, assign)
    tree.body = body
    return tree, set(imported)


def dict_to_config_dict_lazy(cfg):
    if isinstance(cfg, dict):
        out = ConfigDict()
        for key, value in dict.items(cfg):
            out[key] = dict_to_config_dict_lazy(value)
        return out
    if isinstance(cfg, (tuple, list)):
        return type(cfg)(dict_to_config_dict_lazy(c) for c in cfg)
    return cfg


def parse_lazy(path, ctx):
    """One pure-Python config: (ConfigDict of its names, names that were imported)."""
    raw = ctx.read(path)
    ctx.sources[path] = raw
    tree = parse(raw, path)
    bases = OrderedDict()
    base_imported = set()
    for module, node in base_modules(tree.body, path):
        module_path = resolve_base_module(module, path, node, ctx)
        sub_cfg, sub_imported = ctx.enter(module_path, parse_lazy)
        base_imported |= sub_imported
        bases[module] = sub_cfg
    namespace = {'LazyObject': LazyObject, '__file__': path}
    transformer = ImportTransformer(namespace, bases, path, ctx)
    tree = transformer.visit(tree)
    tree, abs_imported = gather_abs_imports(tree, path, ctx)
    ast.fix_missing_locations(tree)
    exec(compile(tree, path, 'exec'), namespace)
    ret = {k: v for k, v in namespace.items()
           if not k.startswith('__') and k != 'LazyObject'}
    return dict_to_config_dict_lazy(ret), transformer.imported | abs_imported | base_imported


# ---------------------------------------------------------------------------------------
# The built-in backend

def check_reserved(cfg, path, ctx):
    for key in cfg:
        if key in RESERVED_KEYS:
            tree = None
            try:
                tree = parse(ctx.sources.get(path, ''), path)
            except SyntaxError:
                pass
            raise EvalError('KeyError', '%s is reserved for config file' % key, path,
                            top_level_line(tree, key))


def builtin_fromfile(path, ctx):
    """Config.fromfile(path).to_dict() with the built-in implementation."""
    if not os.path.isfile(path):
        raise EvalError('FileNotFoundError', 'config file not found: %s' % path, path,
                        missing=path)
    raw = ctx.read(path)
    with mmengine_stand_in():
        if path.endswith('.py') and is_lazy_import(raw, ctx, path):
            cfg, imported = ctx.enter(path, parse_lazy)
            check_reserved(cfg, path, ctx)
            return {k: v for k, v in dict.items(cfg) if k not in imported}
        cfg = ctx.enter(path, file2dict)
        check_reserved(cfg, path, ctx)
        return cfg


def builtin_error(exc, path, ctx):
    if isinstance(exc, EvalError):
        err = error_dict(exc.type_name, exc.message, exc.file or path, exc.line, exc.col)
        return err, exc.missing
    configs = set(ctx.configs)
    where = locate_in_configs(exc, configs, ctx.sources)
    if where is None:
        where = (getattr(exc, '_sbuild_file', None) or path, None, None)
    return error_dict(type(exc).__name__, error_message(exc), *where), None


def error_dict(type_name, message, file, line, col):
    return {'type': type_name, 'message': message, 'file': file,
            'line': line if isinstance(line, int) and line > 0 else None,
            'col': col if isinstance(col, int) and col > 0 else None}


# ---------------------------------------------------------------------------------------
# The mmengine backend

MM_FRAMES = ('fromfile', '_file2dict', '_parse_lazy_import', '_is_lazy_import')


class MMEngineBackend:
    def __init__(self, mmengine, config_cls):
        self.Config = config_cls
        self.version = str(getattr(mmengine, '__version__', 'unknown'))
        self.package_dir = os.path.dirname(os.path.abspath(mmengine.__file__))
        self.version_file = os.path.join(self.package_dir, 'version.py')

    def quiet_package_lookups(self, tracker):
        """MMEngine's is_installed() reloads pkg_resources on every `package::` base; the
        files that reads are no input of the config, so they are not recorded."""
        def quiet(fn):
            def wrapper(*args, **kwargs):
                tracker.suppress += 1
                try:
                    return fn(*args, **kwargs)
                finally:
                    tracker.suppress -= 1
            wrapper.__wrapped__ = fn
            return wrapper
        for name in ('mmengine.config.config', 'mmengine.config.utils'):
            module = sys.modules.get(name)
            for fn_name in ('is_installed', 'get_installed_path'):
                fn = getattr(module, fn_name, None)
                if callable(fn) and not hasattr(fn, '__wrapped__'):
                    setattr(module, fn_name, quiet(fn))

    def load(self, path, tracker):
        try:
            cfg = self.Config.fromfile(path, import_custom_modules=False)
        except TypeError as e:
            if 'import_custom_modules' not in str(e):
                raise
            cfg = self.Config.fromfile(path)
        for getter in ('_to_lazy_dict', 'to_dict'):
            if hasattr(type(cfg), getter):
                return getattr(cfg, getter)()
        return dict(dict.items(cfg._cfg_dict))

    def describe(self, exc, path, tracker):
        """(error, missing) for an exception from Config.fromfile."""
        entries = tb_entries(exc)
        chain = []  # config files being evaluated, outermost first
        for tb in entries:
            code = tb.tb_frame.f_code
            if code.co_name in MM_FRAMES and code.co_filename.startswith(self.package_dir):
                f = tb.tb_frame.f_locals.get('filename')
                if isinstance(f, str) and (not chain or chain[-1] != os.path.abspath(f)):
                    chain.append(os.path.abspath(f))
        current = chain[-1] if chain else path
        special = self._missing_or_uninstalled(exc, entries, chain, current)
        if special is not None:
            return special
        configs = set(chain) | tracker.plain
        syntax = next((e for e in exception_chain(exc)
                       if isinstance(e, SyntaxError) and e.lineno), None)
        if syntax is not None:
            f = syntax.filename if syntax.filename in configs else current
            return error_dict('SyntaxError', error_message(syntax), f, syntax.lineno,
                              syntax.offset), None
        sources = {}
        where = None
        for tb in reversed(entries):
            # MMEngine compiles read_base() imports under paths like `a/../b.py`.
            filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
            if filename in configs or filename == path:
                sources[filename] = read_quietly(filename)
                where = (filename, tb.tb_lineno, tb_col(tb, sources[filename]))
                break
        if where is None:
            line, col = self._statement_of(exc, current)
            where = (current, line, col)
        return error_dict(type(exc).__name__, error_message(exc), *where), None

    @staticmethod
    def _statement_of(exc, current):
        """(line, col) for MMEngine's own errors that name a key or the bases."""
        message = error_message(exc)
        key = None
        m = re.match(r'^(\w+) is reserved for config file', message)
        if m:
            key = m.group(1)
        m = re.match(r'^(\w+)=.* in child config cannot inherit from base', message, re.S)
        if m:
            key = m.group(1)
        if key is not None:
            try:
                return top_level_line(ast.parse(read_quietly(current) or ''), key), None
            except SyntaxError:
                return None, None
        if message.startswith('Duplicate key is not allowed among bases'):
            return find_base_ref(current, lambda s: True)[1:]
        return None, None

    def _missing_or_uninstalled(self, exc, entries, chain, current):
        """A `package::` base or package import whose package is not installed, or a base
        config file that does not exist: (error, missing); None for any other error."""
        innermost = entries[-1].tb_frame if entries else None
        innermost_name = innermost.f_code.co_name if innermost is not None else ''
        if isinstance(exc, ModuleNotFoundError) and innermost_name == '_get_cfg_path':
            scope = str(innermost.f_locals.get('scope'))
            ref = '%s::%s' % (scope, innermost.f_locals.get('cfg_path'))
            _, line, col = find_base_ref(current, lambda s: s.startswith(scope + '::'))
            return error_dict('ModuleNotFoundError', not_installed_message(ref, scope),
                              current, line, col), None
        names = [tb.tb_frame.f_code.co_name for tb in entries]
        lazy = [i for i, n in enumerate(names) if n == '_parse_lazy_import']
        if lazy and 'get_installed_path' in names[lazy[-1]:] and type(exc).__name__ in (
                'DistributionNotFound', 'PackageNotFoundError', 'ModuleNotFoundError'):
            module = str(entries[lazy[-1]].tb_frame.f_locals.get('base_module', ''))
            package = module.split('.')[0]
            _, line, col = find_base_ref(current, lambda s: s == module)
            return error_dict('ModuleNotFoundError', not_installed_message(module, package),
                              current, line, col), None
        missing, referrer = self._missing_file(exc, entries, chain, current)
        if missing is None:
            return None
        if referrer is None:  # the requested config itself
            return error_dict('FileNotFoundError', 'config file not found: %s' % missing,
                              missing, None, None), missing
        ref, line, col = find_base_ref(
            referrer, lambda s: ref_resolves_to(s, referrer, missing))
        return error_dict('FileNotFoundError', missing_message(ref or missing, missing),
                          referrer, line, col), missing

    @staticmethod
    def _missing_file(exc, entries, chain, current):
        """(absent config file, config that names it) or (None, None)."""
        message = error_message(exc)
        m = re.match(r'^(.*) not found! It means', message)
        if m and type(exc).__name__ == 'ConfigParsingError':  # a read_base() import
            return os.path.abspath(m.group(1)), current
        if not isinstance(exc, FileNotFoundError):
            return None, None
        m = re.match(r'^file "(.*)" does not exist', message)
        candidate = m.group(1) if m else exc.filename
        if not isinstance(candidate, str):
            return None, None
        candidate = os.path.abspath(candidate)
        names = [tb.tb_frame.f_code.co_name for tb in entries]
        if any(n.startswith('_get_external_cfg') for n in names):
            # package::path: the config in the package is absent (check_file_exist); an
            # absent .mim/model-index.yml is the package's problem, reported as it is.
            return (candidate, current) if m else (None, None)
        if candidate == current and not os.path.exists(candidate):
            # Raised while opening a base: the config before it in the chain names it.
            earlier = [c for c in chain if c != candidate]
            return candidate, (earlier[-1] if earlier else None)
        return None, None


def exception_chain(exc):
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def read_quietly(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except Exception:
        return None


def ref_resolves_to(ref, referrer, target):
    """Does a `_base_` string or read_base() module written in `referrer` name `target`?"""
    base_dir = os.path.dirname(referrer)
    if '::' in ref:
        rel = os.path.normpath(ref.split('::', 1)[1])
        return target.endswith(os.sep + rel)
    candidates = [os.path.join(base_dir, ref)]
    level = len(ref) - len(ref.lstrip('.'))
    if level:
        candidates.append(os.path.join(base_dir, *(['..'] * (level - 1) + [
            ref[level:].replace('.', '/') + '.py'])))
    return any(os.path.abspath(c) == target for c in candidates)


def find_base_ref(path, match):
    """(text, line, col) of the first `_base_` string or read_base() import in `path`
    that satisfies `match`; (None, None, None) when there is none."""
    try:
        tree = ast.parse(read_quietly(path) or '')
    except SyntaxError:
        return None, None, None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == BASE_KEY):
            for sub in ast.walk(node.value):
                if (isinstance(sub, ast.Constant) and isinstance(sub.value, str)
                        and match(sub.value)):
                    return sub.value, sub.lineno, sub.col_offset + 1
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            module = node.level * '.' + node.module
            if match(module):
                return module, node.lineno, node.col_offset + 1
    return None, None, None


# ---------------------------------------------------------------------------------------
# Driver

def choose_backend(mode):
    """(backend or None, error text or None) for the request's `mmengine` mode."""
    if mode == 'off':
        return None, None
    try:
        import mmengine
        from mmengine.config import Config
    except BaseException as e:  # a broken install can raise anything, even SystemExit
        if isinstance(e, KeyboardInterrupt):
            raise
        if mode == 'require':
            return None, ('mmengine is required (mmengine: "require") but `import mmengine` '
                          'failed in %s: %s: %s' % (sys.executable, type(e).__name__, e))
        return None, None
    return MMEngineBackend(mmengine, Config), None


@contextmanager
def isolated_process_state():
    """Puts back the working directory, sys.path and the environment a config changed."""
    cwd = os.getcwd()
    path = list(sys.path)
    environ = dict(os.environ)
    try:
        yield
    finally:
        try:
            os.chdir(cwd)
        except OSError:
            pass
        sys.path[:] = path
        if dict(os.environ) != environ:
            os.environ.clear()
            os.environ.update(environ)


def evaluate_one(path, backend, tracker, fatal):
    result = {'file': path}
    ctx = Context(tracker)
    with isolated_process_state():
        tracker.start()
        try:
            if fatal:
                raise EvalError('ModuleNotFoundError', fatal, path)
            if backend is not None:
                values = backend.load(path, tracker)
            else:
                values = builtin_fromfile(path, ctx)
            result['ok'] = True
            result['values'] = to_json(values)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            try:
                if backend is not None and not isinstance(e, EvalError):
                    error, missing = backend.describe(e, path, tracker)
                else:
                    error, missing = builtin_error(e, path, ctx)
            except Exception as inner:  # never lose the config's result to a mapping bug
                error = error_dict(type(e).__name__, error_message(e), path, None, None)
                print('sbuild evaluate.py: mapping the error failed: %r' % inner,
                      file=sys.stderr)
                missing = None
            result.pop('values', None)
            result['ok'] = False
            result['error'] = error
            if missing:
                result['missing'] = missing
            e.__traceback__ = None  # frames hold whole configs alive
        finally:
            if backend is not None:
                # An mmengine upgrade changes the list (read when mmengine was imported).
                tracker.add(backend.version_file, read_since=tracker.since)
            read, absent, probed, seen = tracker.stop()
    for f in ctx.configs:
        if f not in read and os.path.isfile(f):
            read.append(f)
            seen.setdefault(f, tracker.seen.get(f, 'racy'))
    if result.get('missing'):
        seen[result['missing']] = None  # looked for and not found, whatever it is now
    result['read'] = read
    result['absent'] = [p for p in absent if p != result.get('missing')]
    result['probed'] = probed
    result['listed'] = dict(tracker.listed)
    result['seen'] = seen
    result['env'] = dict(tracker.env)
    return result


def main():
    # Config code and libraries must not write into the response: Python-level writes go
    # to stderr, and so does anything written to file descriptor 1 directly.
    sys.stdout.flush()
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = io.open(out_fd, 'w', encoding='utf-8', closefd=True)

    if sys.path and os.path.abspath(sys.path[0] or '.') == HERE:
        sys.path.pop(0)  # the evaluator's folder is not the config's business
    try:
        request = json.loads(sys.stdin.read() or '{}')
    except ValueError as e:
        request = {'configs': []}
        print('sbuild evaluate.py: bad request: %s' % e, file=sys.stderr)
    root = request.get('root') or os.getcwd()
    configs = request.get('configs') or []
    mode = request.get('mmengine') or 'auto'

    started = request.get('started')
    since = int(started * 1000000) if isinstance(started, (int, float)) else None
    backend, fatal = choose_backend(mode)
    tracker = Tracker(since)
    if backend is not None:
        tracker.exclude(backend.package_dir, keep=[backend.version_file])
        backend.quiet_package_lookups(tracker)

    results = []
    for config in configs:
        path = os.path.abspath(os.path.join(root, str(config)))
        result = evaluate_one(path, backend, tracker, fatal)
        result['file'] = config
        results.append(result)

    response = {
        'python': {
            'executable': sys.executable,
            'seen': seen_stat(sys.executable, read_since=tracker.since),
            'version': platform.python_version(),
            'path': [p for p in sys.path if p and os.path.isdir(p)],
        },
        'mmengine': backend.version if backend is not None else None,
        'results': results,
    }
    out.write(json.dumps(response, ensure_ascii=True, allow_nan=False))
    out.write('\n')
    out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
