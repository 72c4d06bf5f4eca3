package dev.lolcats4j.io;

import dev.lolcats4j.BadInputException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A minimal Python pickle (protocols 2 to 5) interpreter, enough for PyTorch state dicts. It
 * never executes anything: globals become {@link Global} names and calls on them go to a
 * caller-supplied hook, which may build a Java value or fall back to an {@link Opaque} object.
 *
 * <p>Python values map to: dict → LinkedHashMap, list → ArrayList, tuple → unmodifiable List,
 * int → Long (BigInteger if larger), float → Double, str → String, bytes → byte[],
 * bool → Boolean, None → null, set → LinkedHashSet.
 */
final class PickleReader {

    /** A Python global such as {@code torch._utils._rebuild_tensor_v2}. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** An object of a class this reader does not model; kept so unpickling can go on. */
    static final class Opaque {
        final Global type;
        final List<Object> args;
        Object state;
        final List<Object> listItems = new ArrayList<>();
        final Map<Object, Object> dictItems = new LinkedHashMap<>();

        Opaque(Global type, List<Object> args) {
            this.type = type;
            this.args = args;
        }

        @Override
        public String toString() {
            return "<" + type + " object>";
        }
    }

    /** Builds the value of {@code callable(*args)}; return {@link #opaque} for unknown callables. */
    interface Calls {
        Object call(Object callable, List<Object> args);
    }

    /** Deepest nesting of containers (and of MARKs) accepted; state dicts nest a handful of levels. */
    static final int MAX_DEPTH = 200;

    static Object opaque(Object callable, List<Object> args) {
        Global g = callable instanceof Global gl ? gl : new Global("?", String.valueOf(callable));
        return new Opaque(g, args);
    }

    private final ByteBuffer in;
    private final Path file;
    private final String field;
    private final Function<Object, Object> persistentLoad;
    private final Calls calls;
    private final java.util.function.Predicate<Global> allowed;
    private List<Object> stack = new ArrayList<>();
    private final Deque<List<Object>> metastack = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private PickleReader(byte[] bytes, Path file, String field, Function<Object, Object> persistentLoad, Calls calls,
            java.util.function.Predicate<Global> allowed) {
        this.in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
        this.field = field;
        this.persistentLoad = persistentLoad;
        this.calls = calls;
        this.allowed = allowed;
    }

    /**
     * Unpickles {@code bytes}.
     *
     * @param file  for error messages
     * @param field for error messages, e.g. {@code archive/data.pkl}
     * @param allowed the globals (module.name) the pickle may name; any other is refused, as
     *                {@code torch.load(weights_only=True)} does, since nothing else is needed for
     *                tensors and a hostile file could name anything
     * @throws BadInputException if the pickle is malformed, uses an unsupported opcode or a
     *                           global that is not allowed, nests deeper than {@link #MAX_DEPTH}
     *                           or refers to itself
     */
    static Object load(byte[] bytes, Path file, String field, Function<Object, Object> persistentLoad, Calls calls,
            java.util.function.Predicate<Global> allowed) {
        PickleReader r = new PickleReader(bytes, file, field, persistentLoad, calls, allowed);
        Object result;
        try {
            result = r.run();
        } catch (BadInputException e) {
            throw e;
        } catch (StackOverflowError e) {
            throw BadInputException.at(file, field, "pickle nests too deeply or refers to itself (near byte " + r.in.position() + ")");
        } catch (RuntimeException e) {
            // Any other failure of a malformed pickle (a tuple appended to, a key that cannot be
            // hashed, a short buffer...) is the file's fault: report it, never a stack trace.
            throw BadInputException.at(file, field, "malformed pickle near byte " + r.in.position() + " ("
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        }
        checkAcyclic(file, field, result, new java.util.IdentityHashMap<>(), 0);
        return result;
    }

    /** Refuses object graphs that contain themselves or nest deeper than {@link #MAX_DEPTH}. */
    private static void checkAcyclic(Path file, String field, Object o, java.util.IdentityHashMap<Object, Boolean> path, int depth) {
        if (!(o instanceof java.util.Collection<?> || o instanceof Map<?, ?> || o instanceof Opaque)) {
            return;
        }
        if (depth > MAX_DEPTH) {
            throw BadInputException.at(file, field, "pickle nests deeper than " + MAX_DEPTH + " levels");
        }
        if (path.put(o, Boolean.TRUE) != null) {
            throw BadInputException.at(file, field, "pickle refers to itself (a container that holds itself)");
        }
        try {
            if (o instanceof java.util.Collection<?> c) {
                for (Object item : c) {
                    checkAcyclic(file, field, item, path, depth + 1);
                }
            } else if (o instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    checkAcyclic(file, field, e.getKey(), path, depth + 1);
                    checkAcyclic(file, field, e.getValue(), path, depth + 1);
                }
            } else {
                Opaque op = (Opaque) o;
                checkAcyclic(file, field, op.args, path, depth + 1);
                checkAcyclic(file, field, op.state, path, depth + 1);
                checkAcyclic(file, field, op.listItems, path, depth + 1);
                checkAcyclic(file, field, op.dictItems, path, depth + 1);
            }
        } finally {
            path.remove(o);
        }
    }

    private Object run() {
        while (true) {
            int pos = in.position();
            int op = in.get() & 0xFF;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = in.get() & 0xFF;
                    if (proto > 5) {
                        throw fail(pos, "pickle protocol " + proto + " is not supported (2 to 5 are)");
                    }
                }
                case 0x95 -> in.getLong(); // FRAME: length is advisory, the bytes follow inline
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> { // MARK
                    if (metastack.size() >= MAX_DEPTH) {
                        throw fail(pos, "pickle nests deeper than " + MAX_DEPTH + " levels");
                    }
                    metastack.push(stack);
                    stack = new ArrayList<>();
                }
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt()); // BININT
                case 'K' -> push((long) (in.get() & 0xFF)); // BININT1
                case 'M' -> push((long) (in.getShort() & 0xFFFF)); // BININT2
                case 0x8a -> push(readLong(in.get() & 0xFF)); // LONG1
                case 0x8b -> push(readLong(size(in.getInt(), pos))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT, big-endian
                case 'X' -> push(utf8(size(in.getInt(), pos))); // BINUNICODE
                case 0x8c -> push(utf8(in.get() & 0xFF)); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(size(in.getLong(), pos))); // BINUNICODE8
                case 'T' -> push(latin1(size(in.getInt(), pos))); // BINSTRING
                case 'U' -> push(latin1(in.get() & 0xFF)); // SHORT_BINSTRING
                case 'B' -> push(bytes(size(in.getInt(), pos))); // BINBYTES
                case 'C' -> push(bytes(in.get() & 0xFF)); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(bytes(size(in.getLong(), pos))); // BINBYTES8, BYTEARRAY8
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(tuple(List.of())); // EMPTY_TUPLE
                case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                case 'd' -> { // DICT
                    List<Object> items = popMark();
                    Map<Object, Object> d = new LinkedHashMap<>();
                    for (int i = 0; i + 1 < items.size(); i += 2) {
                        d.put(items.get(i), items.get(i + 1));
                    }
                    push(d);
                }
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 't' -> push(tuple(popMark())); // TUPLE
                case 0x85 -> push(tuple(popN(1))); // TUPLE1
                case 0x86 -> push(tuple(popN(2))); // TUPLE2
                case 0x87 -> push(tuple(popN(3))); // TUPLE3
                case 0x91 -> push(Collections.unmodifiableSet(new LinkedHashSet<>(popMark()))); // FROZENSET
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    putAll(peek(), Arrays.asList(k, v), pos);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    putAll(peek(), items, pos);
                }
                case 'a' -> { // APPEND: the item is on top, the list below it
                    Object item = pop();
                    appendAll(peek(), Collections.singletonList(item), pos);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    appendAll(peek(), items, pos);
                }
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    appendAll(peek(), items, pos);
                }
                case 'c' -> push(global(line(), line(), pos)); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail(pos, "STACK_GLOBAL expects two strings, found " + describe(module) + " and " + describe(name));
                    }
                    push(global(m, n, pos));
                }
                // Protocol 0 and 1 forms, which torch.save(..., pickle_protocol=0/1) and older
                // writers use: numbers and strings as text lines, memo keys as decimal text.
                case 'I' -> push(textInt(line(), pos)); // INT (also 00 / 01 for bools)
                case 'L' -> push(textLong(line(), pos)); // LONG, with a trailing L
                case 'F' -> push(textFloat(line(), pos)); // FLOAT
                case 'S' -> push(textString(line(), pos)); // STRING, quoted
                case 'V' -> push(rawUnicode(line())); // UNICODE, raw-unicode-escape
                case 'p' -> memo.put(memoKey(line(), pos), peek()); // PUT
                case 'g' -> push(memoGet(memoKey(line(), pos), pos)); // GET
                case 'P' -> push(persistentLoad.apply(line())); // PERSID
                case 'i' -> { // INST module\nname\n: a class called with the items since MARK
                    Global g = global(line(), line(), pos);
                    push(calls.call(g, popMark()));
                }
                case 'o' -> { // OBJ: MARK cls args...
                    List<Object> items = popMark();
                    if (items.isEmpty()) {
                        throw fail(pos, "OBJ without a class");
                    }
                    push(calls.call(items.get(0), new ArrayList<>(items.subList(1, items.size()))));
                }
                case 0x97, 0x98 -> throw fail(pos, "out-of-band pickle buffers are not supported"); // NEXT_BUFFER, READONLY_BUFFER
                case 0x82, 0x83, 0x84 -> throw fail(pos, "pickle extension registry codes are not supported"); // EXT1/2/4
                case 'R' -> { // REDUCE
                    List<Object> args = asList(pop(), pos);
                    Object callable = pop();
                    push(calls.call(callable, args));
                }
                case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args)
                    List<Object> args = asList(pop(), pos);
                    Object cls = pop();
                    push(calls.call(cls, args));
                }
                case 0x92 -> { // NEWOBJ_EX: kwargs are dropped
                    pop();
                    List<Object> args = asList(pop(), pos);
                    Object cls = pop();
                    push(calls.call(cls, args));
                }
                case 'b' -> build(pop(), peek()); // BUILD
                case 'Q' -> push(persistentLoad.apply(pop())); // BINPERSID
                case 'q' -> memo.put((long) (in.get() & 0xFF), peek()); // BINPUT
                case 'r' -> memo.put(in.getInt() & 0xFFFFFFFFL, peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(in.get() & 0xFF, pos)); // BINGET
                case 'j' -> push(memoGet(in.getInt() & 0xFFFFFFFFL, pos)); // LONG_BINGET
                default -> throw fail(pos, String.format("unsupported pickle opcode 0x%02x", op));
            }
        }
    }

    private Global global(String module, String name, int pos) {
        Global g = new Global(module, name);
        if (!allowed.test(g)) {
            throw fail(pos, "refusing the Python global " + g + " (only tensors, dicts, lists, tuples, numbers and "
                    + "strings are read, as torch.load(weights_only=True) does)");
        }
        return g;
    }

    private long memoKey(String text, int pos) {
        try {
            return Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw fail(pos, "expected a memo key, found \"" + text + "\"");
        }
    }

    private Object textInt(String text, int pos) {
        String t = text.strip();
        if (t.equals("00")) {
            return Boolean.FALSE;
        }
        if (t.equals("01")) {
            return Boolean.TRUE;
        }
        return textLong(t, pos);
    }

    private Object textLong(String text, int pos) {
        String t = text.strip();
        if (t.endsWith("L")) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            BigInteger v = new BigInteger(t);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        } catch (NumberFormatException e) {
            throw fail(pos, "expected an integer, found \"" + text + "\"");
        }
    }

    private Object textFloat(String text, int pos) {
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw fail(pos, "expected a float, found \"" + text + "\"");
        }
    }

    private Object textString(String text, int pos) {
        String t = text.strip();
        if (t.length() < 2 || t.charAt(0) != t.charAt(t.length() - 1) || (t.charAt(0) != '\'' && t.charAt(0) != '"')) {
            throw fail(pos, "expected a quoted string, found " + describe(t));
        }
        return t.substring(1, t.length() - 1);
    }

    private static String rawUnicode(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 5 < text.length() && text.charAt(i + 1) == 'u') {
                out.append((char) Integer.parseInt(text.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private BadInputException fail(int pos, String problem) {
        return BadInputException.at(file, field, problem + " at byte " + pos);
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw fail(in.position(), "pickle stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw fail(in.position(), "pickle stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popN(int n) {
        if (stack.size() < n) {
            throw fail(in.position(), "pickle stack underflow");
        }
        List<Object> top = stack.subList(stack.size() - n, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private List<Object> popMark() {
        if (metastack.isEmpty()) {
            throw fail(in.position(), "pickle MARK missing");
        }
        List<Object> items = stack;
        stack = metastack.pop();
        return items;
    }

    private Object memoGet(long key, int pos) {
        if (!memo.containsKey(key)) {
            throw fail(pos, "pickle memo key " + key + " was never stored");
        }
        return memo.get(key);
    }

    private static List<Object> tuple(List<Object> items) {
        return Collections.unmodifiableList(new ArrayList<>(items));
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(Object o, int pos) {
        if (o instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw fail(pos, "expected an argument tuple, found " + describe(o));
    }

    @SuppressWarnings("unchecked")
    private void putAll(Object target, List<Object> kv, int pos) {
        Map<Object, Object> m;
        if (target instanceof Map<?, ?> map) {
            m = (Map<Object, Object>) map;
        } else if (target instanceof Opaque o) {
            m = o.dictItems;
        } else {
            throw fail(pos, "SETITEM on " + describe(target));
        }
        for (int i = 0; i + 1 < kv.size(); i += 2) {
            m.put(kv.get(i), kv.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private void appendAll(Object target, List<Object> items, int pos) {
        if (target instanceof List<?> l) {
            ((List<Object>) l).addAll(items);
        } else if (target instanceof Set<?> s) {
            ((Set<Object>) s).addAll(items);
        } else if (target instanceof Opaque o) {
            o.listItems.addAll(items);
        } else {
            throw fail(pos, "APPEND on " + describe(target));
        }
    }

    /** BUILD: only opaque objects keep their state; dicts and tensors ignore it (e.g. _metadata). */
    private static void build(Object state, Object target) {
        if (target instanceof Opaque o) {
            o.state = state;
        }
    }

    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof byte[] b) {
            return "bytes[" + b.length + "]";
        }
        // Containers are described by size only: printing them could recurse forever on a
        // self-referencing pickle, and would not fit on one line anyway.
        if (o instanceof Map<?, ?> m) {
            return "a dict of " + m.size() + " entries";
        }
        if (o instanceof java.util.Collection<?> c) {
            return "a list or tuple of " + c.size() + " items";
        }
        String s = o instanceof String str ? "\"" + str + "\"" : String.valueOf(o);
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    private int size(long n, int pos) {
        if (n < 0 || n > in.remaining()) {
            throw fail(pos, "length " + n + " runs past the end of the pickle");
        }
        return (int) n;
    }

    private Object readLong(int n) {
        byte[] le = bytes(n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private String utf8(int n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private String latin1(int n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    private String line() {
        int start = in.position();
        while (in.get() != '\n') {
            // scan to the newline
        }
        byte[] b = Arrays.copyOfRange(in.array(), start, in.position() - 1);
        return new String(b, StandardCharsets.UTF_8);
    }
}
