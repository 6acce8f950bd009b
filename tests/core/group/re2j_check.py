#!/usr/bin/env python3
"""Checks the tables of tests/core/group/test_cgroup_regex.c against the real
RE2/J that Kafka 4.4's group coordinator uses (Pattern.compile(regex), then
matcher(topic).matches(); PatternSyntaxException.getDescription() for the
invalid ones). Not run by ctest (it needs a JDK and Kafka's libs):
    python3 tests/core/group/re2j_check.py [KAFKA_LIBS_DIR]
KAFKA_LIBS_DIR defaults to ~/.cache/sluice/kafka/4.4.0/libs. Prints each
disagreement and exits 1 if there is one."""
import os, re, subprocess, sys, tempfile

JAVA = r'''
import java.io.*;
import java.nio.charset.StandardCharsets;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

public class Re2jCheck {
    static String hex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++)
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return new String(b, StandardCharsets.UTF_8);
    }
    public static void main(String[] a) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = r.readLine()) != null; ) {
            String[] f = line.split("\t", -1);
            try {
                Pattern p = Pattern.compile(hex(f[0]));
                System.out.println(f[1].equals("-") ? "ok" : p.matcher(hex(f[1])).matches() ? "1" : "0");
            } catch (PatternSyntaxException e) {
                System.out.println("E:" + e.getDescription());
            }
        }
    }
}
'''

def c_string(lit):
    """The bytes of a C string literal's body."""
    out, i = bytearray(), 0
    simple = {'n': 10, 't': 9, 'v': 11, 'f': 12, 'a': 7, 'r': 13, '\\': 92, '"': 34, "'": 39, '?': 63}
    while i < len(lit):
        c = lit[i]
        if c != '\\':
            out += c.encode('utf-8')
            i += 1
            continue
        e = lit[i + 1]
        if e == 'x':
            j = i + 2
            while j < len(lit) and lit[j] in '0123456789abcdefABCDEF':
                j += 1
            out.append(int(lit[i + 2:j], 16) & 0xFF)
            i = j
        elif e in '01234567':
            j = i + 1
            while j < len(lit) and j < i + 4 and lit[j] in '01234567':
                j += 1
            out.append(int(lit[i + 1:j], 8))
            i = j
        else:
            out.append(simple[e])
            i += 2
    return bytes(out)

STR = r'"((?:[^"\\]|\\.)*)"'

def main():
    libs = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser('~/.cache/sluice/kafka/4.4.0/libs')
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'test_cgroup_regex.c')).read()
    cases = []
    for m in re.finditer(r'^\t\{ ' + STR + ', ' + STR + r', (true|false) \},$', src, re.M):
        cases.append((c_string(m[1]), c_string(m[2]), '1' if m[3] == 'true' else '0', m[0].strip()))
    for m in re.finditer(r'^\t\{ ' + STR + ', ' + STR + r' \},$', src, re.M):
        cases.append((c_string(m[1]), None, 'E:' + c_string(m[2]).decode(), m[0].strip()))
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'Re2jCheck.java'), 'w') as f:
            f.write(JAVA)
        cp = os.path.join(libs, '*')
        subprocess.run(['javac', '-cp', cp, '-d', tmp, os.path.join(tmp, 'Re2jCheck.java')], check=True)
        inp = ''.join(p.hex() + '\t' + (t.hex() if t is not None else '-') + '\n' for p, t, _, _ in cases)
        got = subprocess.run(['java', '-cp', tmp + os.pathsep + cp, 'Re2jCheck'], input=inp,
                             capture_output=True, text=True, check=True).stdout.splitlines()
    bad = [(c, g) for c, g in zip(cases, got) if g != c[2]]
    for c, g in bad:
        print('disagree:', c[3], 'RE2/J says', g)
    print(f'{len(cases)} cases checked against RE2/J, {len(bad)} disagree')
    return 1 if bad or len(got) != len(cases) else 0

if __name__ == '__main__':
    sys.exit(main())
