#!/usr/bin/env python3
"""Generates sluice's Kafka message codecs from proto/schema/*.ks.

Owns: the schema file format (below), and the generated C: one struct per
message and nested type, and per message M: M_init (schema defaults),
M_decode (bounds-checked, arena-allocated arrays, unknown tags skipped),
M_size (exact encoded size) and M_encode; per response R, R_errors, which
visits every error code the response carries in a version (the int16 fields
named in ERROR_FIELDS, as Kafka's errorCounts() counts them). Version and
flexible-version logic lives only here and in what it generates.

Schema format, one API per file:
    api <key> <Name> <min>-<max> flexible <N>+|none
    request | response            (a section; fields follow, indented)
    <name> <type> [versions] [null=<versions>] [tag=<n>] [tagged=<versions>] [=<default>]
    struct <Type>                 (in a section, after its fields: a common
                                   struct, its fields indented below)
Types: int8 int16 int32 int64 uint16 uint32 float64 bool string bytes records
uuid, a struct type name (Capitalised, its fields indented below, or none
when it names a common struct of the section, which any number of fields may
share), or []<type> for arrays. Versions: N, N+ or N-M (default: all). Lines
starting with # are comments.

A nullable struct that is not an array (null=, as Kafka's nullableVersions)
carries a bool <name>_present beside it and is encoded as Kafka's generated
code does: int8 -1 for null, else int8 1 and the struct; a decoder takes any
negative marker for null. Such a field cannot be tagged (no Kafka schema has
one).
"""
import argparse
import re
import sys

SCALARS = {
    "int8": ("int8_t", 1), "int16": ("int16_t", 2), "int32": ("int32_t", 4),
    "int64": ("int64_t", 8), "uint16": ("uint16_t", 2), "uint32": ("uint32_t", 4),
    "float64": ("double", 8), "bool": ("bool", 1), "uuid": ("struct kuuid", 16),
}
VIEWS = {"string": "struct kstr", "bytes": "struct kbytes", "records": "struct krecords"}
VERSION_MAX = 0x7FFF
# A response's error codes: one per result, partition or the whole response.
# CreateTopics' topic_config_error_code is left out: it is the config
# describe's outcome inside a created topic, not the request's.
ERROR_FIELDS = {"error_code", "partition_error_code"}


class SchemaError(Exception):
    pass


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def parse_versions(text, where):
    m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text)
    if not m:
        raise SchemaError(f"{where}: bad version range '{text}'")
    lo = int(m.group(1))
    if m.group(2) is None:
        return (lo, lo)
    if m.group(2) == "+":
        return (lo, VERSION_MAX)
    return (lo, int(m.group(3)))


class Field:
    def __init__(self, name, typ, where):
        self.name, self.type, self.where = name, typ, where
        self.versions = (0, VERSION_MAX)
        self.nullable = None
        self.tag = None
        self.tagged = None
        self.default = None
        self.children = []
        self.struct = None  # C struct name for struct or []struct

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.elem not in SCALARS and self.elem not in VIEWS

    @property
    def nullable_struct(self):
        """A single (not array) struct that may be null: it has _present."""
        return self.nullable is not None and self.is_struct and not self.is_array


class Message:
    def __init__(self, api, kind):
        self.api, self.kind, self.fields = api, kind, []
        self.cname = f"{api.snake}_{kind}"
        self.common = {}   # common struct type name -> its fields
        self.defined = {}  # struct type name -> where it was defined


class Api:
    def __init__(self, key, name, lo, hi, flex):
        self.key, self.name, self.lo, self.hi, self.flex = key, name, lo, hi, flex
        self.snake = snake(name)
        self.messages = {}


def parse_field(tokens, where):
    if len(tokens) < 2:
        raise SchemaError(f"{where}: a field needs a name and a type")
    f = Field(tokens[0], tokens[1], where)
    for tok in tokens[2:]:
        if tok.startswith("null="):
            f.nullable = parse_versions(tok[5:], where)
        elif tok.startswith("tagged="):
            f.tagged = parse_versions(tok[7:], where)
        elif tok.startswith("tag="):
            f.tag = int(tok[4:])
        elif tok.startswith("="):
            f.default = tok[1:]
        elif re.fullmatch(r"\d+(\+|-\d+)?", tok):
            f.versions = parse_versions(tok, where)
        else:
            raise SchemaError(f"{where}: unknown attribute '{tok}'")
    if f.tag is not None and f.tagged is None:
        f.tagged = f.versions
    if f.elem not in SCALARS and f.elem not in VIEWS and not re.fullmatch(r"[A-Z]\w*", f.elem):
        raise SchemaError(f"{where}: unknown type '{f.type}'")
    if f.nullable_struct and f.tagged is not None:
        raise SchemaError(f"{where}: a nullable struct cannot be tagged")
    return f


def parse_file(path):
    api, msg, stack = None, None, []
    with open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"{path}:{lineno}"
            line = raw.rstrip()
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip(" "))
            tokens = line.split()
            if indent == 0 and tokens[0] == "api":
                m = re.fullmatch(r"api (\d+) (\w+) (\d+)-(\d+) flexible (?:(\d+)\+|none)", line)
                if not m:
                    raise SchemaError(f"{where}: expected 'api KEY Name MIN-MAX flexible N+|none'")
                flex = int(m.group(5)) if m.group(5) is not None else VERSION_MAX
                api = Api(int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4)), flex)
                continue
            if indent == 0 and tokens[0] in ("request", "response"):
                if api is None:
                    raise SchemaError(f"{where}: section before the api line")
                msg = Message(api, tokens[0])
                api.messages[tokens[0]] = msg
                stack = [(0, msg.fields)]
                continue
            if indent == 0 and tokens[0] == "struct" and msg is not None:
                if len(tokens) != 2 or not re.fullmatch(r"[A-Z]\w*", tokens[1]):
                    raise SchemaError(f"{where}: expected 'struct Type'")
                if tokens[1] in msg.common:
                    raise SchemaError(f"{where}: struct {tokens[1]} defined twice")
                msg.common[tokens[1]] = []
                stack = [(0, msg.common[tokens[1]])]
                continue
            if msg is None or indent == 0:
                raise SchemaError(f"{where}: a field outside a request/response section")
            while stack and indent <= stack[-1][0] and len(stack) > 1:
                stack.pop()
            if indent % 2:
                raise SchemaError(f"{where}: indent by two spaces")
            f = parse_field(tokens, where)
            stack[-1][1].append(f)
            stack.append((indent, f.children))
    if api is None or set(api.messages) != {"request", "response"}:
        raise SchemaError(f"{path}: needs an api line, a request and a response")
    for m in api.messages.values():
        for name, fields in m.common.items():
            if not fields:
                raise SchemaError(f"{path}: common struct {name} has no fields")
            m.defined[name] = f"{path}: struct {name}"
        for fields in m.common.values():
            name_structs(fields, m)
        name_structs(m.fields, m)
    return api


def name_structs(fields, msg):
    """Names every struct field's C type. A struct field with fields defines
    its type (once per message); one without names a common struct and shares
    its fields."""
    for f in fields:
        if not f.is_struct:
            if f.children:
                raise SchemaError(f"{f.where}: only struct types have nested fields")
            continue
        f.struct = f"{msg.cname}_{snake(f.elem)}"
        if not f.children:
            if f.elem not in msg.common:
                raise SchemaError(f"{f.where}: struct type {f.elem} has no fields")
            f.children = msg.common[f.elem]
            continue
        if f.elem in msg.defined:
            raise SchemaError(f"{f.where}: struct type {f.elem} is already defined "
                              f"({msg.defined[f.elem]}): name a common struct without fields")
        msg.defined[f.elem] = f.where
        name_structs(f.children, msg)


def vcond(rng, var="version"):
    lo, hi = rng
    parts = []
    if lo > 0:
        parts.append(f"{var} >= {lo}")
    if hi < VERSION_MAX:
        parts.append(f"{var} <= {hi}")
    return " && ".join(parts) if parts else "true"


def c_default(f):
    d = f.default
    e = f.elem
    if e in ("string", "bytes"):
        return None
    if d is None:
        return "false" if e == "bool" else "0"
    if e == "bool":
        return d
    if d.startswith("0x"):
        return str(int(d, 16))
    if e == "int64" and d not in ("0",):
        return f"INT64_C({d})"
    if d == "-2147483648":
        return "INT32_MIN"
    return d


class Gen:
    def __init__(self, apis):
        self.apis = apis
        self.h, self.c = [], []

    # ---- declarations ----
    def structs_postorder(self, fields, out, seen):
        """Every struct type under fields, once, each after those it holds."""
        for f in fields:
            if f.struct and f.struct not in seen:
                seen.add(f.struct)
                self.structs_postorder(f.children, out, seen)
                out.append((f.struct, f.children))

    def member_decls(self, f):
        n = snake(f.name)
        if f.is_array:
            et = f.struct and f"struct {f.struct}" or SCALARS.get(f.elem, (VIEWS.get(f.elem),))[0]
            return [f"\tint32_t {n}_count;", f"\t{et} *{n};"]
        if f.nullable_struct:
            return [f"\tstruct {f.struct} {n};", f"\tbool {n}_present;"]
        if f.struct:
            return [f"\tstruct {f.struct} {n};"]
        t = SCALARS[f.elem][0] if f.elem in SCALARS else VIEWS[f.elem]
        return [f"\t{t} {n};"]

    def declare(self, api):
        for kind in ("request", "response"):
            m = api.messages[kind]
            structs = []
            self.structs_postorder(m.fields, structs, set())
            structs.append((m.cname, m.fields))
            for name, fields in structs:
                self.h.append(f"struct {name} {{")
                for f in fields:
                    self.h.extend(self.member_decls(f))
                if not fields:
                    self.h.append("\tchar unused;")
                self.h.append("};\n")
                self.h.append(f"void {name}_init(struct {name} *m);")
            self.h.append(f"int {m.cname}_decode(struct rcursor *c, int16_t version, "
                          f"struct arena *a, struct {m.cname} *out);")
            self.h.append(f"size_t {m.cname}_size(const struct {m.cname} *m, int16_t version);")
            self.h.append(f"void {m.cname}_encode(struct wcursor *w, int16_t version, "
                          f"const struct {m.cname} *m);\n")
            if kind == "response":
                self.h.append(f"void {m.cname}_errors(const struct {m.cname} *m, int16_t version, "
                              f"proto_error_fn fn, void *ctx);\n")

    # ---- per-struct functions ----
    def gen_struct(self, name, fields, api, seen):
        for f in fields:
            if f.struct and f.struct not in seen:
                seen.add(f.struct)
                self.gen_struct(f.struct, f.children, api, seen)
        self.gen_init(name, fields)
        self.gen_is_default(name, fields)
        self.gen_decode(name, fields, api)
        self.gen_size(name, fields, api)
        self.gen_encode(name, fields, api)

    def gen_init(self, name, fields):
        c = self.c
        c.append(f"void {name}_init(struct {name} *m)\n{{")
        c.append("\tmemset(m, 0, sizeof(*m));")
        for f in fields:
            n = snake(f.name)
            if f.is_array:
                if f.default == "null":
                    c.append(f"\tm->{n}_count = -1;")
            elif f.struct:
                c.append(f"\t{f.struct}_init(&m->{n});")
                if f.nullable_struct and f.default != "null":
                    c.append(f"\tm->{n}_present = true;")
            elif f.elem in ("string", "bytes"):
                if f.default == "null":
                    c.append(f"\tm->{n}.len = -1;")
                elif f.default:
                    c.append(f"\tm->{n}.ptr = (const void *)\"{f.default}\";")
                    c.append(f"\tm->{n}.len = {len(f.default)};")
            elif f.elem == "records":
                c.append(f"\tm->{n}.fd = -1;")
                if f.default == "null":
                    c.append(f"\tm->{n}.len = -1;")
            elif f.elem != "uuid":
                d = c_default(f)
                if d not in ("0", "false"):
                    c.append(f"\tm->{n} = {d};")
        c.append("}\n")

    def default_test(self, f, ref):
        """C expression that is true when the field differs from its default."""
        if f.is_array:
            return f"{ref}_count != {'-1' if f.default == 'null' else '0'}"
        if f.nullable_struct and f.default == "null":
            return f"{ref}_present"
        if f.nullable_struct:
            return f"(!{ref}_present || !{f.struct}_is_default(&{ref}))"
        if f.struct:
            return f"!{f.struct}_is_default(&{ref})"
        if f.elem in ("string", "bytes"):
            if f.default == "null":
                return f"{ref}.len != -1"
            return f"{ref}.len != {len(f.default or '')}"
        if f.elem == "records":
            return f"{ref}.len > 0"
        if f.elem == "uuid":
            return f"!kuuid_is_zero({ref})"
        return f"{ref} != {c_default(f)}"

    def gen_is_default(self, name, fields):
        c = self.c
        c.append(f"static inline bool {name}_is_default(const struct {name} *m)\n{{")
        conds = [self.default_test(f, f"m->{snake(f.name)}") for f in fields]
        c.append("\treturn !(" + (" ||\n\t\t ".join(conds) if conds else "false") + ");")
        c.append("}\n")

    # decode
    def decode_value(self, f, elem_ref, nullable, indent, api):
        c, t = self.c, f.elem
        i = "\t" * indent
        if t in SCALARS:
            fn = {"uuid": "rc_uuid", "bool": "rc_bool", "float64": "rc_float64"}.get(t, f"rc_{t}")
            c.append(f"{i}{elem_ref} = {fn}(c);")
        elif t == "string":
            c.append(f"{i}{elem_ref} = flex ? ({nullable} ? rc_compact_nstring(c) : rc_compact_string(c))"
                     f" : ({nullable} ? rc_nstring(c) : rc_string(c));")
        elif t in ("bytes", "records"):
            c.append(f"{i}{{")
            c.append(f"{i}\tstruct kbytes b = flex ? ({nullable} ? rc_compact_nbytes(c) : rc_compact_bytes(c))"
                     f" : ({nullable} ? rc_nbytes(c) : rc_bytes(c));")
            if t == "bytes":
                c.append(f"{i}\t{elem_ref} = b;")
            else:
                c.append(f"{i}\t{elem_ref}.mem = (uint8_t *)b.ptr;")
                c.append(f"{i}\t{elem_ref}.len = b.len;")
                c.append(f"{i}\t{elem_ref}.fd = -1;")
            c.append(f"{i}}}")
        elif f.nullable_struct and nullable != "false":
            c.append(f"{i}if ({nullable} && rc_int8(c) < 0) {{")
            c.append(f"{i}\t{elem_ref}_present = false;")
            c.append(f"{i}}} else {{")
            c.append(f"{i}\t{elem_ref}_present = true;")
            c.append(f"{i}\t{f.struct}_decode_in(c, version, a, &{elem_ref});")
            c.append(f"{i}}}")
        else:
            c.append(f"{i}{f.struct}_decode_in(c, version, a, &{elem_ref});")

    def decode_field(self, f, api, indent):
        c = self.c
        i = "\t" * indent
        n = snake(f.name)
        nullable = f"({vcond(f.nullable)})" if f.nullable else "false"
        if not f.is_array:
            self.decode_value(f, f"m->{n}", nullable, indent, api)
            return
        et = f"struct {f.struct}" if f.struct else (SCALARS[f.elem][0] if f.elem in SCALARS else VIEWS[f.elem])
        minb = SCALARS[f.elem][1] if f.elem in SCALARS else 1
        c.append(f"{i}{{")
        c.append(f"{i}\tint32_t n = flex ? rc_compact_array_len(c, {nullable}, PROTO_ARRAY_MAX, {minb})"
                 f" : rc_array_len(c, {nullable}, PROTO_ARRAY_MAX, {minb});")
        c.append(f"{i}\tm->{n}_count = n;")
        c.append(f"{i}\tm->{n} = NULL;")
        c.append(f"{i}\tif (n > 0) {{")
        c.append(f"{i}\t\tm->{n} = arena_calloc(a, (size_t)n, sizeof({et}));")
        c.append(f"{i}\t\tif (!m->{n}) {{")
        c.append(f"{i}\t\t\trc_fail(c, RC_ALLOC, \"{n}\");")
        c.append(f"{i}\t\t\tm->{n}_count = 0;")
        c.append(f"{i}\t\t}}")
        c.append(f"{i}\t}}")
        c.append(f"{i}\tfor (int32_t k = 0; m->{n} && k < n && c->err == RC_OK; k++) {{")
        if f.struct:
            c.append(f"{i}\t\t{f.struct}_init(&m->{n}[k]);")
        self.decode_value(f, f"m->{n}[k]", "false", indent + 2, api)
        c.append(f"{i}\t}}")
        c.append(f"{i}}}")

    def gen_decode(self, name, fields, api):
        c = self.c
        c.append(f"static void {name}_decode_in(struct rcursor *c, int16_t version, struct arena *a, "
                 f"struct {name} *m)\n{{")
        c.append(f"\tbool flex = version >= {api.flex};")
        c.append("\t(void)a;")
        for f in fields:
            cond = vcond(f.versions)
            if f.tag is not None:
                cond = f"({cond}) && !(flex && {vcond(f.tagged)})"
            c.append(f"\tif ({cond}) {{")
            self.decode_field(f, api, 2)
            c.append("\t}")
        tagged = [f for f in fields if f.tag is not None]
        c.append("\tif (!flex || c->err != RC_OK)")
        c.append("\t\treturn;")
        if not tagged:
            c.append("\trc_skip_tagged_fields(c);")
            c.append("}\n")
            return
        c.append("\tuint32_t tags = rc_uvarint(c);")
        c.append("\tif (tags > rc_left(c)) {")
        c.append("\t\trc_fail(c, RC_SHORT, \"tagged field count\");")
        c.append("\t\treturn;")
        c.append("\t}")
        c.append("\tfor (uint32_t t = 0; t < tags && c->err == RC_OK; t++) {")
        c.append("\t\tuint32_t tag = rc_uvarint(c);")
        c.append("\t\tuint32_t size = rc_uvarint(c);")
        c.append("\t\tuint8_t *p = rc_take(c, size, \"tagged field\");")
        c.append("\t\tif (!p)")
        c.append("\t\t\treturn;")
        c.append("\t\tstruct rcursor sub;")
        c.append("\t\trc_init(&sub, p, size);")
        c.append("\t\tstruct rcursor *outer = c;")
        c.append("\t\tc = &sub;")
        c.append("\t\tswitch (tag) {")
        for f in tagged:
            c.append(f"\t\tcase {f.tag}:")
            c.append(f"\t\t\tif ({vcond(f.tagged)} && {vcond(f.versions)}) {{")
            self.decode_field(f, api, 4)
            c.append("\t\t\t}")
            c.append("\t\t\tbreak;")
        c.append("\t\tdefault:")
        c.append("\t\t\tbreak;")
        c.append("\t\t}")
        c.append("\t\tc = outer;")
        c.append("\t\tif (sub.err != RC_OK)")
        c.append("\t\t\trc_fail(c, sub.err, sub.err_what);")
        c.append("\t}")
        c.append("}\n")

    # size
    def size_value(self, f, ref, nullable):
        t = f.elem
        if t in SCALARS:
            return f"{SCALARS[t][1]}"
        if t in ("string", "bytes"):
            return (f"(flex ? uvarint_size((uint32_t)({ref}.len < 0 ? 0 : {ref}.len + 1)) : "
                    f"{'2' if t == 'string' else '4'}) + ({ref}.len > 0 ? (size_t){ref}.len : 0)")
        if t == "records":
            return (f"(flex ? uvarint_size((uint32_t)({ref}.len < 0 ? 0 : {ref}.len + 1)) : 4) + "
                    f"({ref}.len > 0 ? (size_t){ref}.len : 0)")
        return f"{f.struct}_size_in(&{ref}, version)"

    def size_field(self, f):
        n = snake(f.name)
        ref = f"m->{n}"
        if f.nullable_struct:
            return [f"if ({vcond(f.nullable)})",
                    "\tn += 1;",
                    f"if ({ref}_present)",
                    f"\tn += {self.size_value(f, ref, None)};"]
        if not f.is_array:
            return [f"n += {self.size_value(f, ref, None)};"]
        lines = [f"n += flex ? uvarint_size((uint32_t)({ref}_count < 0 ? 0 : {ref}_count + 1)) : 4;",
                 f"for (int32_t k = 0; k < {ref}_count; k++)",
                 f"\tn += {self.size_value(f, ref + '[k]', None)};"]
        return lines

    def gen_size(self, name, fields, api):
        c = self.c
        tagged = [f for f in fields if f.tag is not None]
        if tagged:
            for f in tagged:
                c.append(f"static size_t {name}_tag{f.tag}_size(const struct {name} *m, int16_t version)\n{{")
                c.append(f"\tbool flex = version >= {api.flex};")
                c.append("\tsize_t n = 0;")
                c.append("\t(void)flex;")
                c.append("\t(void)m;")
                for line in self.size_field(f):
                    c.append("\t" + line)
                c.append("\treturn n;")
                c.append("}\n")
        c.append(f"static size_t {name}_size_in(const struct {name} *m, int16_t version)\n{{")
        c.append(f"\tbool flex = version >= {api.flex};")
        c.append("\tsize_t n = 0;")
        c.append("\t(void)m;")
        for f in fields:
            cond = vcond(f.versions)
            if f.tag is not None:
                cond = f"({cond}) && !(flex && {vcond(f.tagged)})"
            c.append(f"\tif ({cond}) {{")
            for line in self.size_field(f):
                c.append("\t\t" + line)
            c.append("\t}")
        c.append("\tif (flex) {")
        c.append("\t\tuint32_t tags = 0;")
        c.append("\t\tsize_t body = 0;")
        for f in tagged:
            ref = f"m->{snake(f.name)}"
            c.append(f"\t\tif ({vcond(f.tagged)} && {vcond(f.versions)} && {self.default_test(f, ref)}) {{")
            c.append(f"\t\t\tsize_t s = {name}_tag{f.tag}_size(m, version);")
            c.append("\t\t\ttags++;")
            c.append(f"\t\t\tbody += uvarint_size({f.tag}) + uvarint_size((uint32_t)s) + s;")
            c.append("\t\t}")
        c.append("\t\tn += uvarint_size(tags) + body;")
        c.append("\t}")
        c.append("\treturn n;")
        c.append("}\n")

    # encode
    def encode_value(self, f, ref, indent):
        c, t = self.c, f.elem
        i = "\t" * indent
        if t in SCALARS:
            fn = {"uuid": "wc_uuid", "bool": "wc_bool", "float64": "wc_float64"}.get(t, f"wc_{t}")
            c.append(f"{i}{fn}(w, {ref});")
        elif t == "string":
            c.append(f"{i}if (flex)")
            c.append(f"{i}\twc_compact_string(w, {ref});")
            c.append(f"{i}else")
            c.append(f"{i}\twc_string(w, {ref});")
        elif t == "bytes":
            c.append(f"{i}if (flex)")
            c.append(f"{i}\twc_compact_bytes(w, {ref});")
            c.append(f"{i}else")
            c.append(f"{i}\twc_bytes(w, {ref});")
        elif t == "records":
            c.append(f"{i}wc_records(w, &{ref}, flex);")
        else:
            c.append(f"{i}{f.struct}_encode_in(w, version, &{ref});")

    def encode_field(self, f, indent):
        c = self.c
        i = "\t" * indent
        n = snake(f.name)
        ref = f"m->{n}"
        if f.nullable_struct:
            self.encode_nullable_struct(f, ref, indent)
            return
        if not f.is_array:
            self.encode_value(f, ref, indent)
            return
        c.append(f"{i}if (flex)")
        c.append(f"{i}\twc_compact_array_len(w, {ref}_count);")
        c.append(f"{i}else")
        c.append(f"{i}\twc_array_len(w, {ref}_count);")
        c.append(f"{i}for (int32_t k = 0; k < {ref}_count; k++) {{")
        self.encode_value(f, f"{ref}[k]", indent + 1)
        c.append(f"{i}}}")

    def encode_nullable_struct(self, f, ref, indent):
        """The null marker in nullable versions; in the others the struct must
        be there (null would be our bug, as Kafka refuses to write it)."""
        c = self.c
        i = "\t" * indent
        covers = f.nullable[0] <= f.versions[0] and f.nullable[1] >= f.versions[1]
        if covers:
            c.append(f"{i}wc_int8(w, {ref}_present ? 1 : -1);")
        else:
            c.append(f"{i}if ({vcond(f.nullable)})")
            c.append(f"{i}\twc_int8(w, {ref}_present ? 1 : -1);")
            c.append(f"{i}else")
            c.append(f"{i}\tassert({ref}_present);")
        c.append(f"{i}if ({ref}_present)")
        c.append(f"{i}\t{f.struct}_encode_in(w, version, &{ref});")

    def gen_encode(self, name, fields, api):
        c = self.c
        tagged = sorted([f for f in fields if f.tag is not None], key=lambda f: f.tag)
        c.append(f"static void {name}_encode_in(struct wcursor *w, int16_t version, "
                 f"const struct {name} *m)\n{{")
        c.append(f"\tbool flex = version >= {api.flex};")
        c.append("\t(void)m;")
        for f in fields:
            cond = vcond(f.versions)
            if f.tag is not None:
                cond = f"({cond}) && !(flex && {vcond(f.tagged)})"
            c.append(f"\tif ({cond}) {{")
            self.encode_field(f, 2)
            c.append("\t}")
        c.append("\tif (!flex)")
        c.append("\t\treturn;")
        if not tagged:
            c.append("\twc_uvarint(w, 0);")
            c.append("}\n")
            return
        c.append("\tuint32_t tags = 0;")
        for f in tagged:
            ref = f"m->{snake(f.name)}"
            c.append(f"\ttags += ({vcond(f.tagged)} && {vcond(f.versions)} && {self.default_test(f, ref)});")
        c.append("\twc_uvarint(w, tags);")
        for f in tagged:
            ref = f"m->{snake(f.name)}"
            c.append(f"\tif ({vcond(f.tagged)} && {vcond(f.versions)} && {self.default_test(f, ref)}) {{")
            c.append(f"\t\twc_uvarint(w, {f.tag});")
            c.append(f"\t\twc_uvarint(w, (uint32_t){name}_tag{f.tag}_size(m, version));")
            self.encode_field(f, 2)
            c.append("\t}")
        c.append("}\n")

    # error visitor
    def carries_errors(self, fields):
        return any((f.name in ERROR_FIELDS and f.elem == "int16" and not f.is_array) or
                   (f.struct and self.carries_errors(f.children)) for f in fields)

    def gen_errors(self, name, fields, seen):
        for f in fields:
            if f.struct and f.struct not in seen and self.carries_errors(f.children):
                seen.add(f.struct)
                self.gen_errors(f.struct, f.children, seen)
        c = self.c
        c.append(f"static void {name}_errors_in(const struct {name} *m, int16_t version, "
                 f"proto_error_fn fn, void *ctx)\n{{")
        c.append("\t(void)version;")
        for f in fields:
            n = snake(f.name)
            if f.name in ERROR_FIELDS and f.elem == "int16" and not f.is_array:
                c.append(f"\tif ({vcond(f.versions)})")
                c.append(f"\t\tfn(ctx, m->{n});")
            elif f.struct and self.carries_errors(f.children):
                c.append(f"\tif ({vcond(f.versions)}) {{")
                if f.is_array:
                    c.append(f"\t\tfor (int32_t k = 0; k < m->{n}_count; k++)")
                    c.append(f"\t\t\t{f.struct}_errors_in(&m->{n}[k], version, fn, ctx);")
                elif f.nullable_struct:
                    c.append(f"\t\tif (m->{n}_present)")
                    c.append(f"\t\t\t{f.struct}_errors_in(&m->{n}, version, fn, ctx);")
                else:
                    c.append(f"\t\t{f.struct}_errors_in(&m->{n}, version, fn, ctx);")
                c.append("\t}")
        c.append("}\n")

    def gen_message(self, m):
        api = m.api
        self.gen_struct(m.cname, m.fields, api, set())
        c = self.c
        c.append(f"int {m.cname}_decode(struct rcursor *c, int16_t version, struct arena *a, "
                 f"struct {m.cname} *out)\n{{")
        c.append(f"\t{m.cname}_init(out);")
        c.append(f"\t{m.cname}_decode_in(c, version, a, out);")
        c.append("\treturn c->err == RC_OK ? 0 : -1;")
        c.append("}\n")
        c.append(f"size_t {m.cname}_size(const struct {m.cname} *m, int16_t version)\n{{")
        c.append(f"\treturn {m.cname}_size_in(m, version);")
        c.append("}\n")
        c.append(f"void {m.cname}_encode(struct wcursor *w, int16_t version, "
                 f"const struct {m.cname} *m)\n{{")
        c.append(f"\t{m.cname}_encode_in(w, version, m);")
        c.append("}\n")
        if m.kind != "response":
            return
        errors = self.carries_errors(m.fields)
        if errors:
            self.gen_errors(m.cname, m.fields, set())
        c.append(f"void {m.cname}_errors(const struct {m.cname} *m, int16_t version, "
                 f"proto_error_fn fn, void *ctx)\n{{")
        if errors:
            c.append(f"\t{m.cname}_errors_in(m, version, fn, ctx);")
        else:
            c += ["\t(void)m;", "\t(void)version;", "\t(void)fn;", "\t(void)ctx;"]
        c.append("}\n")

    def run(self):
        apis = sorted(self.apis, key=lambda a: a.key)
        self.h += ["/* Generated by proto/codegen.py from the schema files in proto/schema: do not edit. */",
                   "#ifndef SLUICE_PROTO_MESSAGES_H", "#define SLUICE_PROTO_MESSAGES_H", "",
                   "#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", "",
                   '#include "proto/arena.h"', '#include "proto/cursor.h"', "",
                   "/* Bound on every decoded array's element count. */",
                   "#define PROTO_ARRAY_MAX 100000", "",
                   "/* Called once per error code a response carries (R_errors). */",
                   "typedef void (*proto_error_fn)(void *ctx, int16_t error_code);", "",
                   "/* ApiVersions responses always use response header v0. */",
                   "enum api_key {"]
        for a in apis:
            self.h.append(f"\tAPI_{a.snake.upper()} = {a.key},")
        self.h += ["};", "",
                   "/* Every API as X(key, message prefix), for code that visits them all",
                   " * (the request fuzz target): X(API_HEARTBEAT, heartbeat) names",
                   " * heartbeat_request and heartbeat_response. */",
                   "#define PROTO_APIS(X) \\"]
        self.h += [f"\tX(API_{a.snake.upper()}, {a.snake}) \\" for a in apis]
        self.h += ["", "struct proto_api_info {", "\tint16_t key;", "\tconst char *name;",
                   "\tint16_t min_version;", "\tint16_t max_version;", "\tint16_t flexible_from;",
                   "};", "", "extern const struct proto_api_info proto_apis[];",
                   "extern const size_t proto_apis_len;",
                   "const struct proto_api_info *proto_api_find(int16_t key);", ""]
        self.c += ["/* Generated by proto/codegen.py from the schema files in proto/schema: do not edit. */",
                   '#include "proto/messages.h"', "", "#include <assert.h>", "#include <string.h>", ""]
        for a in apis:
            self.declare(a)
        for a in apis:
            for kind in ("request", "response"):
                self.gen_message(a.messages[kind])
        self.c.append("const struct proto_api_info proto_apis[] = {")
        for a in apis:
            self.c.append(f'\t{{ {a.key}, "{a.name}", {a.lo}, {a.hi}, {a.flex} }},')
        self.c += ["};", "", "const size_t proto_apis_len = sizeof(proto_apis) / sizeof(proto_apis[0]);", "",
                   "const struct proto_api_info *proto_api_find(int16_t key)", "{",
                   "\tfor (size_t i = 0; i < proto_apis_len; i++)",
                   "\t\tif (proto_apis[i].key == key)", "\t\t\treturn &proto_apis[i];",
                   "\treturn NULL;", "}"]
        self.h.append("#endif")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-h", required=True)
    ap.add_argument("--out-c", required=True)
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args()
    try:
        apis = [parse_file(p) for p in args.schemas]
    except SchemaError as e:
        print(f"codegen: {e}", file=sys.stderr)
        return 1
    g = Gen(apis)
    g.run()
    import os
    os.makedirs(os.path.dirname(args.out_h), exist_ok=True)
    with open(args.out_h, "w") as fh:
        fh.write("\n".join(g.h) + "\n")
    with open(args.out_c, "w") as fh:
        fh.write("\n".join(g.c) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
