/* The fast path of zos_gridtypes decoding, in C: plain JSON documents straight into models.
 *
 * A schema compiled once per model class (``compile_model``, driven by ``_cfast.py`` from
 * the models' annotations) tells the parser what each key holds. ``decode`` walks the text
 * once, checks every value against its field, and builds the model instances the exact
 * Go-like decoder would build (``object.__new__`` + ``__dict__`` in field order, every field
 * in ``__pydantic_fields_set__``, no extra, no private).
 *
 * It only ever *accepts* documents whose meaning is plain, and returns None for anything
 * else: a key in another case, unknown or repeated, ``null`` (except for raw ``data``),
 * floats, negative or out-of-range integers, escapes in keys, invalid UTF-8 or lone
 * surrogates, a workload of an unknown type or whose ``data`` comes before its ``type``, a
 * conversion (IP, CIDR, hex) that fails. The caller then runs the exact decoder, which
 * decides and words every error. So this file never has to reproduce an error message.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#ifndef ZOS_SOURCE_SHA
#define ZOS_SOURCE_SHA "unknown"
#endif

enum Kind {
    K_STR,
    K_BOOL,
    K_UINT,       /* 0 .. umax */
    K_INT64,      /* Go int64 (timestamps) */
    K_CONVERT,    /* a string, then fn(string); an exception declines */
    K_MODEL,
    K_LIST,
    K_MAP,        /* map[string]string */
    K_RAWNULL,    /* raw JSON that must be null: fn() */
    K_WORKLOAD,   /* a workload's data: the model named by the "type" already read */
    K_HEX,        /* bytes as hex text */
    K_IP,         /* netaddr.IP: canonical IPv4 built here, anything else by fn(string) */
    K_IPNET,      /* netaddr.IPNet: likewise for canonical IPv4 CIDR */
};

typedef struct Model Model;

typedef struct Type {
    int kind;
    unsigned long long umax;
    PyObject *fn;        /* K_CONVERT, K_RAWNULL (borrowed from keep) */
    struct Type *elem;   /* K_LIST */
    Model *model;        /* K_MODEL */
    PyObject *choices;   /* K_WORKLOAD: dict type name -> model capsule (borrowed) */
    PyTypeObject *cls;   /* K_IP, K_IPNET (borrowed) */
    PyObject *slots[4];  /* K_IP: _text, packed; K_IPNET: _text, ip, prefix, v4_text (owned) */
} Type;

typedef struct {
    const char *key;     /* JSON key, UTF-8 (borrowed from keep) */
    Py_ssize_t key_len;
    PyObject *attr;      /* interned attribute name (borrowed from keep) */
    Type type;
    PyObject *deflt;     /* static default, or NULL */
    PyObject *factory;   /* default factory, or NULL; both NULL: the key is required */
} Field;

struct Model {
    PyTypeObject *cls;
    Py_ssize_t nfields;
    Field *fields;
    PyObject *all_attrs; /* frozenset of every attribute: the fields set */
    PyObject *d_fields_set, *d_extra, *d_private; /* the class's slot descriptors */
    Py_ssize_t type_field; /* index of "type" for workloads, else -1 */
    PyObject *keep;      /* list keeping every borrowed object alive */
};

#define CAPSULE_NAME "zos_gridtypes._accel.Model"

static PyObject *s_dict, *s_fields_set, *s_extra, *s_private, *empty_tuple;

/* RawJSON (rawjson.py), filled in by set_raw_class: built here without a Python call. */
static PyTypeObject *raw_cls;
static PyObject *raw_unparsed;
static PyObject *raw_slots[5]; /* _text, _value, _typed, _challenges, _source */
static const char *raw_slot_names[5] = {"_text", "_value", "_typed", "_challenges", "_source"};

/* ---------------------------------------------------------------- schema compilation -- */

static void free_type(Type *t) {
    for (int i = 0; i < 4; i++) {
        Py_CLEAR(t->slots[i]);
    }
    if (t->elem != NULL) {
        free_type(t->elem);
        PyMem_Free(t->elem);
        t->elem = NULL;
    }
}

static void model_destructor(PyObject *capsule) {
    Model *m = (Model *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
    if (m == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < m->nfields; i++) {
        free_type(&m->fields[i].type);
    }
    PyMem_Free(m->fields);
    Py_XDECREF(m->keep);
    Py_XDECREF(m->all_attrs);
    Py_XDECREF(m->d_fields_set);
    Py_XDECREF(m->d_extra);
    Py_XDECREF(m->d_private);
    Py_XDECREF((PyObject *)m->cls);
    PyMem_Free(m);
}

static int keep(Model *m, PyObject *o) { return PyList_Append(m->keep, o); }

/* Set a slot through its descriptor, found once per class (no attribute lookup per call). */
static int set_slot(PyObject *descr, PyObject *obj, PyObject *value) {
    return Py_TYPE(descr)->tp_descr_set(descr, obj, value);
}

/* The data descriptor implementing a slot (pydantic's BaseModel declares these slots). */
static PyObject *slot_descriptor(PyTypeObject *cls, PyObject *name) {
    PyObject *mro = cls->tp_mro;
    for (Py_ssize_t i = 0; mro != NULL && i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base_dict = ((PyTypeObject *)PyTuple_GET_ITEM(mro, i))->tp_dict;
        PyObject *descr = PyDict_GetItemWithError(base_dict, name);
        if (descr != NULL) {
            if (Py_TYPE(descr)->tp_descr_set == NULL) {
                break;
            }
            return Py_NewRef(descr);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    PyErr_Format(PyExc_TypeError, "%R has no slot %R", (PyObject *)cls, name);
    return NULL;
}

/* A type spec: ("str",) ("bool",) ("uint", max) ("int64",) ("convert", fn) ("model", capsule)
 * ("list", spec) ("map",) ("rawnull",) ("workload", {name: capsule}) ("hex",)
 * ("ip", IP, fallback) ("ipnet", IPNet, fallback). */
static int compile_type(Model *m, PyObject *spec, Type *out) {
    memset(out, 0, sizeof(*out));
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1 ||
        !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0))) {
        PyErr_SetString(PyExc_TypeError, "type spec must be a tuple starting with its kind");
        return -1;
    }
    const char *kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 0));
    PyObject *arg = PyTuple_GET_SIZE(spec) > 1 ? PyTuple_GET_ITEM(spec, 1) : NULL;
    if (kind == NULL) {
        return -1;
    }
    if (strcmp(kind, "str") == 0) {
        out->kind = K_STR;
    } else if (strcmp(kind, "bool") == 0) {
        out->kind = K_BOOL;
    } else if (strcmp(kind, "int64") == 0) {
        out->kind = K_INT64;
    } else if (strcmp(kind, "map") == 0) {
        out->kind = K_MAP;
    } else if (strcmp(kind, "rawnull") == 0) {
        out->kind = K_RAWNULL;
    } else if (strcmp(kind, "hex") == 0) {
        out->kind = K_HEX;
    } else if ((strcmp(kind, "ip") == 0 || strcmp(kind, "ipnet") == 0) && arg != NULL &&
               PyType_Check(arg) && PyTuple_GET_SIZE(spec) == 3) {
        static const char *ip_slots[] = {"_text", "packed"};
        static const char *net_slots[] = {"_text", "ip", "prefix", "v4_text"};
        int net = kind[2] == 'n';
        out->kind = net ? K_IPNET : K_IP;
        out->cls = (PyTypeObject *)arg;
        out->fn = PyTuple_GET_ITEM(spec, 2);
        for (int i = 0; i < (net ? 4 : 2); i++) {
            PyObject *name = PyUnicode_InternFromString(net ? net_slots[i] : ip_slots[i]);
            out->slots[i] = name != NULL ? slot_descriptor(out->cls, name) : NULL;
            Py_XDECREF(name);
            if (out->slots[i] == NULL) {
                return -1;
            }
        }
        return keep(m, arg) < 0 ? -1 : keep(m, out->fn);
    } else if (arg == NULL) {
        PyErr_Format(PyExc_TypeError, "type spec '%s' needs an argument", kind);
        return -1;
    } else if (strcmp(kind, "uint") == 0) {
        out->kind = K_UINT;
        out->umax = PyLong_AsUnsignedLongLong(arg);
        if (PyErr_Occurred()) {
            return -1;
        }
    } else if (strcmp(kind, "convert") == 0) {
        out->kind = K_CONVERT;
        out->fn = arg;
        return keep(m, arg);
    } else if (strcmp(kind, "model") == 0) {
        out->kind = K_MODEL;
        out->model = (Model *)PyCapsule_GetPointer(arg, CAPSULE_NAME);
        if (out->model == NULL) {
            return -1;
        }
        return keep(m, arg);
    } else if (strcmp(kind, "list") == 0) {
        out->kind = K_LIST;
        out->elem = PyMem_Calloc(1, sizeof(Type));
        if (out->elem == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        return compile_type(m, arg, out->elem);
    } else if (strcmp(kind, "workload") == 0) {
        if (!PyDict_Check(arg)) {
            PyErr_SetString(PyExc_TypeError, "workload choices must be a dict");
            return -1;
        }
        out->kind = K_WORKLOAD;
        out->choices = arg;
        return keep(m, arg);
    } else {
        PyErr_Format(PyExc_ValueError, "unknown type spec '%s'", kind);
        return -1;
    }
    return 0;
}

/* compile_model(cls, fields) -> capsule; fields: [(json_name, attr, spec, default, factory)]:
 * default is (value,) for a static default or () for none, factory a callable or None; with
 * neither the key is required. */
static PyObject *compile_model(PyObject *self, PyObject *args) {
    PyObject *cls, *fields;
    if (!PyArg_ParseTuple(args, "O!O!:compile_model", &PyType_Type, &cls, &PyList_Type,
                          &fields)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(fields);
    if (n > 64) {
        PyErr_SetString(PyExc_ValueError, "at most 64 fields per model");
        return NULL;
    }
    Model *m = PyMem_Calloc(1, sizeof(Model));
    if (m == NULL) {
        return PyErr_NoMemory();
    }
    m->type_field = -1;
    m->cls = (PyTypeObject *)Py_NewRef(cls);
    m->keep = PyList_New(0);
    m->fields = PyMem_Calloc(n > 0 ? n : 1, sizeof(Field));
    PyObject *capsule = NULL;
    if (m->keep == NULL || m->fields == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    capsule = PyCapsule_New(m, CAPSULE_NAME, model_destructor);
    if (capsule == NULL) {
        goto fail;
    }
    /* From here the capsule owns m (and frees it on error). */
    PyObject *attrs = PyList_New(0);
    if (attrs == NULL) {
        Py_DECREF(capsule);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(fields, i);
        PyObject *json_name, *attr, *spec, *deflt, *factory;
        if (!PyArg_ParseTuple(item, "O!UOOO:field", &PyBytes_Type, &json_name, &attr, &spec,
                              &deflt, &factory)) {
            goto fail_capsule;
        }
        Field *f = &m->fields[i];
        m->nfields = i + 1;
        Py_INCREF(attr);
        PyUnicode_InternInPlace(&attr);
        if (keep(m, json_name) < 0 || keep(m, attr) < 0 || PyList_Append(attrs, attr) < 0) {
            Py_DECREF(attr);
            goto fail_capsule;
        }
        Py_DECREF(attr);
        f->key = PyBytes_AS_STRING(json_name);
        f->key_len = PyBytes_GET_SIZE(json_name);
        f->attr = attr;
        if (compile_type(m, spec, &f->type) < 0) {
            goto fail_capsule;
        }
        if (factory != Py_None) {
            f->factory = factory;
        } else if (PyTuple_Check(deflt) && PyTuple_GET_SIZE(deflt) == 1) {
            f->deflt = PyTuple_GET_ITEM(deflt, 0); /* (value,): a static default */
        } /* else the key is required */
        if ((f->deflt != NULL && keep(m, f->deflt) < 0) ||
            (f->factory != NULL && keep(m, f->factory) < 0)) {
            goto fail_capsule;
        }
        if (f->key_len == 4 && memcmp(f->key, "type", 4) == 0) {
            m->type_field = i;
        }
    }
    m->all_attrs = PyFrozenSet_New(attrs);
    Py_DECREF(attrs);
    m->d_fields_set = slot_descriptor(m->cls, s_fields_set);
    m->d_extra = slot_descriptor(m->cls, s_extra);
    m->d_private = slot_descriptor(m->cls, s_private);
    if (m->all_attrs == NULL || m->d_fields_set == NULL || m->d_extra == NULL ||
        m->d_private == NULL) {
        Py_DECREF(capsule);
        return NULL;
    }
    return capsule;
fail_capsule:
    Py_DECREF(attrs);
    Py_DECREF(capsule);
    return NULL;
fail:
    Py_XDECREF(m->keep);
    Py_XDECREF((PyObject *)m->cls);
    PyMem_Free(m->fields);
    PyMem_Free(m);
    return NULL;
}

/* ---------------------------------------------------------------------------- parser -- */

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
    int declined; /* set with a NULL result: not plain (no Python error set) */
} Parser;

#define DECLINE(ps) ((ps)->declined = 1, (PyObject *)NULL)

static inline void skip_ws(Parser *ps) {
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) {
        ps->p++;
    }
}

static int hex4(const unsigned char *s, unsigned int *out) {
    unsigned int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* Scan a string starting at its opening quote. Sets start and len to the raw content and
 * *escaped when it holds a backslash; declines control characters and an unterminated
 * string. */
static int scan_string(Parser *ps, const unsigned char **start, Py_ssize_t *len, int *escaped,
                       int *ascii) {
    if (ps->p >= ps->end || *ps->p != '"') {
        return -1;
    }
    const unsigned char *s = ++ps->p;
    int esc = 0, high = 0;
    while (ps->p < ps->end) {
        unsigned char c = *ps->p;
        if (c == '"') {
            *start = s;
            *len = ps->p - s;
            *escaped = esc;
            *ascii = !high;
            ps->p++;
            return 0;
        }
        if (c == '\\') {
            esc = 1;
            ps->p += 2;
            continue;
        }
        if (c < 0x20) {
            return -1;
        }
        high |= c & 0x80;
        ps->p++;
    }
    return -1;
}

static PyObject *unescape(Parser *ps, const unsigned char *s, Py_ssize_t len) {
    /* UTF-8 output is never longer than the escaped input. */
    char *buf = PyMem_Malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t o = 0;
    const unsigned char *end = s + len;
    while (s < end) {
        unsigned char c = *s++;
        if (c != '\\') {
            buf[o++] = (char)c;
            continue;
        }
        if (s >= end) {
            goto decline;
        }
        c = *s++;
        switch (c) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            unsigned int cp, lo;
            if (end - s < 4 || hex4(s, &cp) < 0) {
                goto decline;
            }
            s += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto decline; /* a lone low surrogate: Go substitutes U+FFFD */
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    goto decline;
                }
                s += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80) {
                buf[o++] = (char)cp;
            } else if (cp < 0x800) {
                buf[o++] = (char)(0xC0 | (cp >> 6));
                buf[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                buf[o++] = (char)(0xE0 | (cp >> 12));
                buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[o++] = (char)(0xF0 | (cp >> 18));
                buf[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            goto decline;
        }
    }
    PyObject *r = PyUnicode_DecodeUTF8(buf, o, "strict");
    PyMem_Free(buf);
    if (r == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        return DECLINE(ps); /* invalid UTF-8: Go substitutes U+FFFD */
    }
    return r;
decline:
    PyMem_Free(buf);
    return DECLINE(ps);
}

static PyObject *parse_str(Parser *ps) {
    const unsigned char *s;
    Py_ssize_t len;
    int escaped, ascii;
    if (scan_string(ps, &s, &len, &escaped, &ascii) < 0) {
        return DECLINE(ps);
    }
    if (escaped) {
        return unescape(ps, s, len);
    }
    if (ascii) {
        PyObject *r = PyUnicode_New(len, 127);
        if (r != NULL) {
            memcpy(PyUnicode_DATA(r), s, len);
        }
        return r;
    }
    PyObject *r = PyUnicode_DecodeUTF8((const char *)s, len, "strict");
    if (r == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        return DECLINE(ps);
    }
    return r;
}

/* Digits of a JSON integer; declines fractions, exponents and overflow. */
static int parse_digits(Parser *ps, unsigned long long *out) {
    const unsigned char *p = ps->p;
    if (p >= ps->end || *p < '0' || *p > '9') {
        return -1;
    }
    unsigned long long v = 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < ps->end && *p >= '0' && *p <= '9') {
            unsigned int d = *p - '0';
            if (v > (ULLONG_MAX - d) / 10) {
                return -1;
            }
            v = v * 10 + d;
            p++;
        }
    }
    if (p < ps->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) {
        return -1; /* a float, or a leading zero */
    }
    ps->p = p;
    *out = v;
    return 0;
}

static int match_literal(Parser *ps, const char *lit, Py_ssize_t n) {
    if (ps->end - ps->p >= n && memcmp(ps->p, lit, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static PyObject *parse_model(Parser *ps, Model *m);

static PyObject *parse_map(Parser *ps) {
    if (ps->p >= ps->end || *ps->p != '{') {
        return DECLINE(ps);
    }
    ps->p++;
    PyObject *d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return d;
    }
    for (;;) {
        skip_ws(ps);
        PyObject *k = parse_str(ps);
        if (k == NULL) {
            goto fail;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            Py_DECREF(k);
            ps->declined = 1;
            goto fail;
        }
        ps->p++;
        skip_ws(ps);
        PyObject *v = parse_str(ps);
        if (v == NULL) {
            Py_DECREF(k);
            goto fail;
        }
        int dup = PyDict_Contains(d, k);
        int err = dup != 0 ? -1 : PyDict_SetItem(d, k, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (dup == 1) {
            ps->declined = 1; /* a repeated key: Go keeps the last, declined to be safe */
        }
        if (err < 0) {
            goto fail;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return d;
        }
        ps->declined = 1;
        goto fail;
    }
fail:
    Py_DECREF(d);
    return NULL;
}

/* A RawJSON with no text (recovered from the source when asked for): ``value`` is the parsed
 * value (None for null), ``typed`` (if not NULL) its cached decoding. */
static PyObject *new_raw(PyObject *value, PyObject *typed) {
    if (raw_cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_accel.set_raw_class was not called");
        return NULL;
    }
    PyObject *raw = PyBaseObject_Type.tp_new(raw_cls, empty_tuple, NULL);
    if (raw == NULL) {
        return NULL;
    }
    PyObject *cache = Py_None;
    if (typed != NULL) {
        cache = PyDict_New();
        if (cache == NULL || PyDict_SetItem(cache, (PyObject *)Py_TYPE(typed), typed) < 0) {
            Py_XDECREF(cache);
            Py_DECREF(raw);
            return NULL;
        }
    } else {
        Py_INCREF(cache);
    }
    PyObject *values[5] = {Py_None, value, cache, Py_None, Py_None};
    for (int i = 0; i < 5; i++) {
        if (set_slot(raw_slots[i], raw, values[i]) < 0) {
            Py_DECREF(cache);
            Py_DECREF(raw);
            return NULL;
        }
    }
    Py_DECREF(cache);
    return raw;
}

static PyObject *call_decline_on_error(Parser *ps, PyObject *fn, PyObject *arg) {
    PyObject *r = arg != NULL ? PyObject_CallOneArg(fn, arg) : PyObject_CallNoArgs(fn);
    if (r == NULL && PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        ps->declined = 1;
    }
    return r;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static PyObject *parse_hex(Parser *ps) {
    PyObject *text = parse_str(ps);
    if (text == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (!PyUnicode_IS_ASCII(text) || n % 2) {
        Py_DECREF(text);
        return DECLINE(ps); /* the exact decoder words the error */
    }
    const unsigned char *s = PyUnicode_1BYTE_DATA(text);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n / 2);
    if (out == NULL) {
        Py_DECREF(text);
        return NULL;
    }
    char *o = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            Py_DECREF(out);
            Py_DECREF(text);
            return DECLINE(ps);
        }
        o[i / 2] = (char)(hi << 4 | lo);
    }
    Py_DECREF(text);
    return out;
}

/* A decimal without leading zeros, at most max; returns the digits used, 0 if none. */
static int small_decimal(const unsigned char *s, const unsigned char *end, int max, int *out) {
    int v = 0, n = 0;
    while (s + n < end && s[n] >= '0' && s[n] <= '9' && n < 3) {
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0 || (n > 1 && s[0] == '0') || v > max) {
        return 0;
    }
    *out = v;
    return n;
}

/* Canonical dotted-quad IPv4 text (no leading zeros); returns the characters used. */
static Py_ssize_t canonical_ipv4(const unsigned char *s, const unsigned char *end,
                                 unsigned char octets[4]) {
    const unsigned char *p = s;
    for (int i = 0; i < 4; i++) {
        int v, n = small_decimal(p, end, 255, &v);
        if (n == 0) {
            return 0;
        }
        octets[i] = (unsigned char)v;
        p += n;
        if (i < 3) {
            if (p >= end || *p != '.') {
                return 0;
            }
            p++;
        }
    }
    return p - s;
}

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* netaddr.IP / IPNet for canonical IPv4 text (its own rendering), built without a Python
 * call; any other text goes through the class's parser (fn). */
static PyObject *parse_ip(Parser *ps, Type *t) {
    PyObject *text = parse_str(ps);
    if (text == NULL) {
        return NULL;
    }
    const unsigned char *s = PyUnicode_IS_ASCII(text) ? PyUnicode_1BYTE_DATA(text) : NULL;
    const unsigned char *end = s + PyUnicode_GET_LENGTH(text);
    unsigned char octets[4];
    Py_ssize_t used = s != NULL ? canonical_ipv4(s, end, octets) : 0;
    int prefix = -1;
    if (used > 0 && t->kind == K_IPNET) {
        int n = s + used < end && s[used] == '/' ? small_decimal(s + used + 1, end, 32, &prefix)
                                                 : 0;
        used = n > 0 ? used + 1 + n : 0;
    }
    if (used == 0 || s + used != end) {
        PyObject *r = call_decline_on_error(ps, t->fn, text);
        Py_DECREF(text);
        return r;
    }
    unsigned char packed[16];
    memcpy(packed, v4_mapped, 12);
    memcpy(packed + 12, octets, 4);
    PyObject *obj = PyBaseObject_Type.tp_new(t->cls, empty_tuple, NULL);
    PyObject *b = PyBytes_FromStringAndSize((const char *)packed, 16);
    PyObject *n = t->kind == K_IPNET ? PyLong_FromLong(prefix) : NULL;
    int err = obj == NULL || b == NULL || (t->kind == K_IPNET && n == NULL);
    if (!err) {
        err = set_slot(t->slots[0], obj, text) < 0 || set_slot(t->slots[1], obj, b) < 0;
        if (!err && t->kind == K_IPNET) {
            err = set_slot(t->slots[2], obj, n) < 0 || set_slot(t->slots[3], obj, Py_True) < 0;
        }
    }
    Py_XDECREF(b);
    Py_XDECREF(n);
    Py_DECREF(text);
    if (err) {
        Py_XDECREF(obj);
        return NULL;
    }
    return obj;
}

static PyObject *parse_value(Parser *ps, Type *t, PyObject **vals, Model *owner) {
    switch (t->kind) {
    case K_STR:
        return parse_str(ps);
    case K_BOOL:
        if (match_literal(ps, "true", 4)) {
            Py_RETURN_TRUE;
        }
        if (match_literal(ps, "false", 5)) {
            Py_RETURN_FALSE;
        }
        return DECLINE(ps);
    case K_UINT: {
        unsigned long long v;
        if (parse_digits(ps, &v) < 0 || v > t->umax) {
            return DECLINE(ps);
        }
        return PyLong_FromUnsignedLongLong(v);
    }
    case K_INT64: {
        unsigned long long v;
        int neg = ps->p < ps->end && *ps->p == '-';
        ps->p += neg;
        if (parse_digits(ps, &v) < 0 || v > (neg ? 9223372036854775808ULL : 9223372036854775807ULL)) {
            return DECLINE(ps);
        }
        if (neg) {
            return PyLong_FromLongLong(v == 9223372036854775808ULL ? LLONG_MIN : -(long long)v);
        }
        return PyLong_FromUnsignedLongLong(v);
    }
    case K_CONVERT: {
        PyObject *s = parse_str(ps);
        if (s == NULL) {
            return NULL;
        }
        PyObject *r = call_decline_on_error(ps, t->fn, s);
        Py_DECREF(s);
        return r;
    }
    case K_MODEL:
        return parse_model(ps, t->model);
    case K_HEX:
        return parse_hex(ps);
    case K_IP:
    case K_IPNET:
        return parse_ip(ps, t);
    case K_MAP:
        return parse_map(ps);
    case K_RAWNULL:
        if (match_literal(ps, "null", 4)) {
            return new_raw(Py_None, NULL); /* what ``"data": null`` decodes to */
        }
        return DECLINE(ps);
    case K_WORKLOAD: {
        /* The data's model is named by the workload's "type", which must come first. */
        PyObject *name = owner != NULL && owner->type_field >= 0 ? vals[owner->type_field] : NULL;
        if (name == NULL) {
            return DECLINE(ps);
        }
        PyObject *capsule = PyDict_GetItemWithError(t->choices, name);
        if (capsule == NULL) {
            return PyErr_Occurred() ? NULL : DECLINE(ps);
        }
        Model *dm = (Model *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
        PyObject *typed = dm != NULL ? parse_model(ps, dm) : NULL;
        if (typed == NULL) {
            return NULL;
        }
        PyObject *wrapped = new_raw(raw_unparsed, typed); /* raw text later, typed cached */
        Py_DECREF(typed);
        return wrapped;
    }
    case K_LIST: {
        if (ps->p >= ps->end || *ps->p != '[') {
            return DECLINE(ps);
        }
        ps->p++;
        PyObject *list = PyList_New(0);
        if (list == NULL) {
            return NULL;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return list;
        }
        for (;;) {
            skip_ws(ps);
            PyObject *item = parse_value(ps, t->elem, NULL, NULL);
            if (item == NULL) {
                Py_DECREF(list);
                return NULL;
            }
            int err = PyList_Append(list, item);
            Py_DECREF(item);
            if (err < 0) {
                Py_DECREF(list);
                return NULL;
            }
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                return list;
            }
            Py_DECREF(list);
            return DECLINE(ps);
        }
    }
    }
    PyErr_SetString(PyExc_SystemError, "bad kind");
    return NULL;
}

static PyObject *build_model(Model *m, PyObject **vals) {
    /* The dict in field order, absent fields at their defaults; takes the references in vals. */
    PyObject *d = _PyDict_NewPresized(m->nfields);
    if (d == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < m->nfields; i++) {
        Field *f = &m->fields[i];
        PyObject *v = vals[i];
        vals[i] = NULL;
        if (v == NULL) {
            v = f->factory != NULL ? PyObject_CallNoArgs(f->factory) : Py_NewRef(f->deflt);
            if (v == NULL) {
                goto fail;
            }
        }
        int err = PyDict_SetItem(d, f->attr, v);
        Py_DECREF(v);
        if (err < 0) {
            goto fail;
        }
    }
    PyObject *obj = PyBaseObject_Type.tp_new(m->cls, empty_tuple, NULL);
    if (obj == NULL) {
        goto fail;
    }
    PyObject *fields_set = PySet_New(m->all_attrs);
    if (fields_set == NULL || PyObject_GenericSetDict(obj, d, NULL) < 0 ||
        set_slot(m->d_fields_set, obj, fields_set) < 0 ||
        set_slot(m->d_extra, obj, Py_None) < 0 || set_slot(m->d_private, obj, Py_None) < 0) {
        Py_XDECREF(fields_set);
        Py_DECREF(obj);
        goto fail;
    }
    Py_DECREF(fields_set);
    Py_DECREF(d);
    return obj;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *parse_model(Parser *ps, Model *m) {
    if (ps->p >= ps->end || *ps->p != '{') {
        return DECLINE(ps);
    }
    ps->p++;
    PyObject *vals[64];
    memset(vals, 0, sizeof(PyObject *) * m->nfields);
    uint64_t seen = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        goto done;
    }
    for (;;) {
        skip_ws(ps);
        const unsigned char *k;
        Py_ssize_t klen;
        int escaped, ascii;
        if (scan_string(ps, &k, &klen, &escaped, &ascii) < 0 || escaped) {
            goto decline;
        }
        Py_ssize_t i = 0;
        Field *f = NULL;
        for (; i < m->nfields; i++) {
            if (m->fields[i].key_len == klen && memcmp(m->fields[i].key, k, klen) == 0) {
                f = &m->fields[i];
                break;
            }
        }
        if (f == NULL || (seen & ((uint64_t)1 << i))) {
            goto decline; /* unknown, in another case, or repeated */
        }
        seen |= (uint64_t)1 << i;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            goto decline;
        }
        ps->p++;
        skip_ws(ps);
        vals[i] = parse_value(ps, &f->type, vals, m);
        if (vals[i] == NULL) {
            goto fail;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        goto decline;
    }
done:
    for (Py_ssize_t i = 0; i < m->nfields; i++) {
        Field *f = &m->fields[i];
        if (!(seen & ((uint64_t)1 << i)) && f->deflt == NULL && f->factory == NULL) {
            goto decline; /* a required key is missing */
        }
    }
    return build_model(m, vals);
decline:
    ps->declined = 1;
fail:
    for (Py_ssize_t i = 0; i < m->nfields; i++) {
        Py_CLEAR(vals[i]);
    }
    return NULL;
}


/* ------------------------------------------------------------------ challenge rendering -- */
/* The challenge (spec section 6) of a deployment, from declarative per-type programs compiled
 * by ``compile_challenge`` (see ``_cfast.py``). Any value not of the exact type the program
 * expects (a str subclass, a bool where an int is expected, a missing typed decoding...)
 * makes ``challenge`` return None, and the Python renderer, the reference, is used. */

enum Op {
    OP_STR,      /* str */
    OP_UINT,     /* non-negative int, decimal */
    OP_INT,      /* int64, decimal */
    OP_BOOL,     /* "true" / "false" */
    OP_TEXT,     /* IP / IPNet: its _text */
    OP_HEX,      /* bytes as lowercase hex */
    OP_STRS,     /* list of str */
    OP_TEXTS,    /* list of IP / IPNet */
    OP_MODEL,    /* nested model */
    OP_OPTIONAL, /* nested model or None */
    OP_MODELS,   /* list of models */
    OP_ENV,      /* dict str -> str: "key=value" sorted by the UTF-8 bytes of the key */
    OP_OPTSTR,   /* str or None */
    OP_DATA,     /* a workload's data: its typed decoding (cached in the RawJSON) rendered by
                  * the program of its type: {type name: (class, program)} */
};

typedef struct Prog {
    Py_ssize_t n;
    struct Instr *code;
} Prog;

typedef struct Instr {
    int op;
    PyObject *attr; /* owned */
    Prog sub;       /* OP_MODEL, OP_OPTIONAL, OP_MODELS */
    PyObject *choices; /* OP_DATA (owned) */
} Instr;

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
    int bail; /* not renderable here: use the Python renderer */
} Out;

static PyObject *s_text_slot, *s_type;

static int out_write(Out *o, const char *s, Py_ssize_t n) {
    if (o->len + n > o->cap) {
        Py_ssize_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n + 256;
        char *b = PyMem_Realloc(o->buf, cap);
        if (b == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    return 0;
}

static int out_decimal(Out *o, unsigned long long u, int negative) {
    char num[24];
    int i = sizeof(num);
    do {
        num[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (negative) {
        num[--i] = '-';
    }
    return out_write(o, num + i, sizeof(num) - i);
}

static int out_str(Out *o, PyObject *v) {
    if (!PyUnicode_CheckExact(v)) {
        o->bail = 1;
        return -1;
    }
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(v, &n);
    if (u == NULL) {
        PyErr_Clear(); /* lone surrogates: Python's encode decides */
        o->bail = 1;
        return -1;
    }
    return out_write(o, u, n);
}

static void free_prog(Prog *p) {
    for (Py_ssize_t i = 0; i < p->n; i++) {
        Py_XDECREF(p->code[i].attr);
        Py_XDECREF(p->code[i].choices);
        free_prog(&p->code[i].sub);
    }
    PyMem_Free(p->code);
    p->code = NULL;
    p->n = 0;
}

static int compile_prog(PyObject *ops, Prog *p) {
    static const char *names[] = {"str", "uint", "int", "bool", "text", "hex", "strs",
                                  "texts", "model", "optional", "models", "env", "optstr",
                                  "data"};
    if (!PyList_Check(ops)) {
        PyErr_SetString(PyExc_TypeError, "a challenge program is a list of (op, attr[, sub])");
        return -1;
    }
    p->n = 0;
    p->code = PyMem_Calloc(PyList_GET_SIZE(ops) + 1, sizeof(Instr));
    if (p->code == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ops); i++) {
        PyObject *item = PyList_GET_ITEM(ops, i), *sub = NULL;
        const char *name;
        PyObject *attr;
        if (!PyArg_ParseTuple(item, "sU|O:op", &name, &attr, &sub)) {
            return -1;
        }
        Instr *in = &p->code[i];
        in->op = -1;
        for (int k = 0; k < (int)(sizeof(names) / sizeof(names[0])); k++) {
            if (strcmp(name, names[k]) == 0) {
                in->op = k;
            }
        }
        if (in->op < 0) {
            PyErr_Format(PyExc_ValueError, "unknown challenge op '%s'", name);
            return -1;
        }
        in->attr = Py_NewRef(attr);
        PyUnicode_InternInPlace(&in->attr);
        p->n = i + 1;
        int nested = in->op == OP_MODEL || in->op == OP_OPTIONAL || in->op == OP_MODELS ||
                     in->op == OP_DATA;
        if (in->op == OP_DATA) {
            if (sub == NULL || !PyDict_Check(sub)) {
                PyErr_SetString(PyExc_TypeError, "challenge op 'data' needs {type: (cls, prog)}");
                return -1;
            }
            in->choices = Py_NewRef(sub);
            continue;
        }
        if (nested != (sub != NULL)) {
            PyErr_Format(PyExc_ValueError, "challenge op '%s' %s a sub-program", name,
                         nested ? "needs" : "takes no");
            return -1;
        }
        if (nested && compile_prog(sub, &in->sub) < 0) {
            return -1;
        }
    }
    return 0;
}

#define PROG_CAPSULE "zos_gridtypes._accel.Challenge"

static void prog_destructor(PyObject *capsule) {
    Prog *p = PyCapsule_GetPointer(capsule, PROG_CAPSULE);
    if (p != NULL) {
        free_prog(p);
        PyMem_Free(p);
    }
}

/* compile_challenge(ops) -> program */
static PyObject *compile_challenge(PyObject *self, PyObject *ops) {
    Prog *p = PyMem_Calloc(1, sizeof(Prog));
    if (p == NULL) {
        return PyErr_NoMemory();
    }
    if (compile_prog(ops, p) < 0) {
        free_prog(p);
        PyMem_Free(p);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(p, PROG_CAPSULE, prog_destructor);
    if (capsule == NULL) {
        free_prog(p);
        PyMem_Free(p);
    }
    return capsule;
}

static int run_prog(Out *o, Prog *p, PyObject *obj);
static int render_data(Out *o, Instr *in, PyObject *dict);

/* A slot's value through its descriptor (new reference, NULL with an error when unset). */
static PyObject *slot_get(PyObject *descr, PyObject *obj) {
    return Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)Py_TYPE(obj));
}

static int render_value(Out *o, int op, Prog *sub, PyObject *v) {
    switch (op) {
    case OP_STR:
        return out_str(o, v);
    case OP_OPTSTR:
        return v == Py_None ? 0 : out_str(o, v);
    case OP_UINT:
    case OP_INT: {
        if (!PyLong_CheckExact(v)) {
            o->bail = 1;
            return -1;
        }
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow > 0 && op == OP_UINT) {
            unsigned long long u = PyLong_AsUnsignedLongLong(v);
            if (u == (unsigned long long)-1 && PyErr_Occurred()) {
                PyErr_Clear();
                o->bail = 1;
                return -1;
            }
            return out_decimal(o, u, 0);
        }
        if (overflow != 0 || (x == -1 && PyErr_Occurred()) || (op == OP_UINT && x < 0)) {
            PyErr_Clear();
            o->bail = 1;
            return -1;
        }
        return out_decimal(o, x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x, x < 0);
    }
    case OP_BOOL:
        if (v == Py_True) {
            return out_write(o, "true", 4);
        }
        if (v == Py_False) {
            return out_write(o, "false", 5);
        }
        o->bail = 1;
        return -1;
    case OP_TEXT: {
        PyObject *t = PyObject_GetAttr(v, s_text_slot);
        if (t == NULL) {
            PyErr_Clear();
            o->bail = 1;
            return -1;
        }
        int r = out_str(o, t);
        Py_DECREF(t);
        return r;
    }
    case OP_HEX: {
        if (!PyBytes_CheckExact(v)) {
            o->bail = 1;
            return -1;
        }
        static const char digits[] = "0123456789abcdef";
        const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(v);
        for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE(v); i++) {
            char pair[2] = {digits[b[i] >> 4], digits[b[i] & 15]};
            if (out_write(o, pair, 2) < 0) {
                return -1;
            }
        }
        return 0;
    }
    case OP_STRS:
    case OP_TEXTS:
    case OP_MODELS: {
        if (!PyList_CheckExact(v)) {
            o->bail = 1;
            return -1;
        }
        int each = op == OP_STRS ? OP_STR : op == OP_TEXTS ? OP_TEXT : OP_MODEL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if (render_value(o, each, sub, PyList_GET_ITEM(v, i)) < 0) {
                return -1;
            }
        }
        return 0;
    }
    case OP_OPTIONAL:
        if (v == Py_None) {
            return 0;
        }
        return run_prog(o, sub, v);
    case OP_MODEL:
        return run_prog(o, sub, v);
    case OP_ENV: {
        if (!PyDict_CheckExact(v)) {
            o->bail = 1;
            return -1;
        }
        /* Sorted by the UTF-8 bytes of the key: for exact str keys, code point order. */
        PyObject *keys = PyDict_Keys(v);
        if (keys == NULL || PyList_Sort(keys) < 0) {
            Py_XDECREF(keys);
            return -1;
        }
        int r = 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys) && r == 0; i++) {
            PyObject *k = PyList_GET_ITEM(keys, i);
            PyObject *val = PyDict_GetItemWithError(v, k);
            r = val == NULL ? -1 : out_str(o, k);
            r = r < 0 ? -1 : out_write(o, "=", 1);
            r = r < 0 ? -1 : out_str(o, val);
        }
        Py_DECREF(keys);
        return r;
    }
    }
    o->bail = 1;
    return -1;
}

/* The data of workload ``obj``: its type's program over the typed decoding that the RawJSON
 * caches (``RawJSON._typed[cls]``); not decoded yet or an unknown type: bail out. */
static int render_data(Out *o, Instr *in, PyObject *dict) {
    PyObject *type = PyDict_GetItemWithError(dict, s_type);        /* borrowed */
    PyObject *raw = type != NULL ? PyDict_GetItemWithError(dict, in->attr) : NULL;
    PyObject *choice = NULL, *typed_cache = NULL, *typed = NULL;
    int r = -1;
    if (raw == NULL || !PyUnicode_CheckExact(type) || Py_TYPE(raw) != raw_cls) {
        goto bail;
    }
    choice = PyDict_GetItemWithError(in->choices, type);
    if (choice == NULL || !PyTuple_Check(choice) || PyTuple_GET_SIZE(choice) != 2) {
        goto bail;
    }
    typed_cache = slot_get(raw_slots[2], raw);
    if (typed_cache == NULL || !PyDict_CheckExact(typed_cache)) {
        goto bail;
    }
    typed = PyDict_GetItemWithError(typed_cache, PyTuple_GET_ITEM(choice, 0));
    if (typed == NULL) {
        goto bail;
    }
    Prog *prog = PyCapsule_GetPointer(PyTuple_GET_ITEM(choice, 1), PROG_CAPSULE);
    if (prog != NULL) {
        Py_INCREF(typed);
        r = run_prog(o, prog, typed);
        Py_DECREF(typed);
    }
    goto done;
bail:
    if (PyErr_Occurred()) {
        PyErr_Clear();
    }
    o->bail = 1;
done:
    Py_XDECREF(typed_cache);
    return r;
}

static int run_prog(Out *o, Prog *p, PyObject *obj) {
    /* Model fields live in the instance dict: read it directly (no attribute protocol). */
    PyObject *dict = PyObject_GenericGetDict(obj, NULL);
    if (dict == NULL || !PyDict_CheckExact(dict)) {
        Py_XDECREF(dict);
        PyErr_Clear();
        o->bail = 1;
        return -1;
    }
    int r = 0;
    for (Py_ssize_t i = 0; i < p->n && r == 0; i++) {
        Instr *in = &p->code[i];
        if (in->op == OP_DATA) {
            r = render_data(o, in, dict);
            continue;
        }
        PyObject *v = PyDict_GetItemWithError(dict, in->attr); /* borrowed */
        if (v == NULL) {
            PyErr_Clear();
            o->bail = 1;
            r = -1;
            break;
        }
        Py_INCREF(v);
        r = render_value(o, in->op, &in->sub, v);
        Py_DECREF(v);
    }
    Py_DECREF(dict);
    return r;
}

/* render(program, obj) -> bytes, or None when the Python renderer must decide. */
static PyObject *render(PyObject *self, PyObject *args) {
    PyObject *capsule, *obj;
    if (!PyArg_ParseTuple(args, "OO:render", &capsule, &obj)) {
        return NULL;
    }
    Prog *p = PyCapsule_GetPointer(capsule, PROG_CAPSULE);
    if (p == NULL) {
        return NULL;
    }
    Out o = {NULL, 0, 0, 0};
    int r = run_prog(&o, p, obj);
    PyObject *result = NULL;
    if (r == 0) {
        result = PyBytes_FromStringAndSize(o.buf != NULL ? o.buf : "", o.len);
    } else if (o.bail && !PyErr_Occurred()) {
        result = Py_NewRef(Py_None);
    }
    PyMem_Free(o.buf);
    return result;
}

/* set_raw_class(RawJSON, unparsed_sentinel) */
static PyObject *set_raw_class(PyObject *self, PyObject *args) {
    PyObject *cls, *unparsed;
    if (!PyArg_ParseTuple(args, "O!O:set_raw_class", &PyType_Type, &cls, &unparsed)) {
        return NULL;
    }
    PyObject *slots[5];
    for (int i = 0; i < 5; i++) {
        PyObject *name = PyUnicode_InternFromString(raw_slot_names[i]);
        slots[i] = name != NULL ? slot_descriptor((PyTypeObject *)cls, name) : NULL;
        Py_XDECREF(name);
        if (slots[i] == NULL) {
            for (int j = 0; j < i; j++) {
                Py_DECREF(slots[j]);
            }
            return NULL;
        }
    }
    for (int i = 0; i < 5; i++) {
        Py_XSETREF(raw_slots[i], slots[i]);
    }
    Py_XSETREF(raw_cls, (PyTypeObject *)Py_NewRef(cls));
    Py_XSETREF(raw_unparsed, Py_NewRef(unparsed));
    Py_RETURN_NONE;
}

/* decode(model_capsule, data: bytes) -> model, or None when the document is not plain. */
static PyObject *decode(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "Oy*:decode", &capsule, &buf)) {
        return NULL;
    }
    Model *m = (Model *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
    if (m == NULL) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    Parser ps = {(const unsigned char *)buf.buf, (const unsigned char *)buf.buf + buf.len, 0};
    skip_ws(&ps);
    PyObject *r = parse_model(&ps, m);
    if (r != NULL) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            Py_CLEAR(r); /* text after the document */
            ps.declined = 1;
        }
    }
    PyBuffer_Release(&buf);
    if (r == NULL && ps.declined && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return r;
}

static PyMethodDef methods[] = {
    {"compile_model", compile_model, METH_VARARGS,
     "compile_model(cls, fields) -> schema: fields are (json_name: bytes, attr, type_spec, "
     "(default,) or (), factory or None)."},
    {"set_raw_class", set_raw_class, METH_VARARGS,
     "set_raw_class(RawJSON, unparsed): the class of raw data values and its 'not parsed' mark."},
    {"compile_challenge", compile_challenge, METH_O,
     "compile_challenge(ops) -> program: ops are (op, attr[, sub_ops])."},
    {"render", render, METH_VARARGS,
     "render(program, obj) -> the challenge bytes, or None when Python must render it."},
    {"decode", decode, METH_VARARGS,
     "decode(schema, data: bytes) -> model, or None when the document is not plain."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_accel",
    "The compiled fast path of zos_gridtypes decoding (see _cfast.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__accel(void) {
    s_dict = PyUnicode_InternFromString("__dict__");
    s_fields_set = PyUnicode_InternFromString("__pydantic_fields_set__");
    s_extra = PyUnicode_InternFromString("__pydantic_extra__");
    s_private = PyUnicode_InternFromString("__pydantic_private__");
    empty_tuple = PyTuple_New(0);
    s_text_slot = PyUnicode_InternFromString("_text");
    s_type = PyUnicode_InternFromString("type");
    if (s_dict == NULL || s_fields_set == NULL || s_extra == NULL || s_private == NULL ||
        empty_tuple == NULL) {
        return NULL;
    }
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL) {
        return NULL;
    }
    if (PyModule_AddStringConstant(mod, "SOURCE_SHA", ZOS_SOURCE_SHA) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
