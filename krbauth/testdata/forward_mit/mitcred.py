#!/usr/bin/python3
"""Drive MIT libkrb5's own KRB-CRED code through ctypes, for krbauth's tests.

  mitcred.py rd ETYPE KEYHEX OUTCCACHE   < krb-cred.der
      krb5_rd_cred with the key as receive subkey (default auth-context
      flags: DO_TIME, so MIT checks the timestamp), then stores the
      credential in a new FILE ccache OUTCCACHE. Prints the client principal.
  mitcred.py mk ETYPE KEYHEX CCACHE        > krb-cred.der
      krb5_mk_1cred of the TGT krbtgt/REALM@REALM in CCACHE, encrypted
      with the key as send subkey.
Exit status 0 on success; MIT's error message on stderr otherwise.
KRB5_CONFIG and KRB5RCACHEDIR come from the environment.
"""
import ctypes, sys

k5 = ctypes.CDLL("libkrb5.so.3")
k5.krb5_get_error_message.restype = ctypes.c_char_p
VP = ctypes.c_void_p

class Data(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_int32), ("length", ctypes.c_uint), ("data", VP)]

class Keyblock(ctypes.Structure):
    _fields_ = [("magic", ctypes.c_int32), ("enctype", ctypes.c_int32),
                ("length", ctypes.c_uint), ("contents", VP)]

class CredsHead(ctypes.Structure):  # leading fields of krb5_creds
    _fields_ = [("magic", ctypes.c_int32), ("client", VP), ("server", VP)]

ctx = VP()

def check(ret, what):
    if ret != 0:
        msg = k5.krb5_get_error_message(ctx, ret).decode(errors="replace")
        sys.stderr.write("%s: %s (%d)\n" % (what, msg, ret))
        sys.exit(1)

def main():
    mode, etype, keyhex, path = sys.argv[1:5]
    check(k5.krb5_init_context(ctypes.byref(ctx)), "krb5_init_context")
    raw = bytes.fromhex(keyhex)
    keybuf = ctypes.create_string_buffer(raw, len(raw))
    key = Keyblock(0, int(etype), len(raw), ctypes.cast(keybuf, VP))
    ac = VP()
    check(k5.krb5_auth_con_init(ctx, ctypes.byref(ac)), "krb5_auth_con_init")
    cc = VP()
    if mode == "rd":
        msg = sys.stdin.buffer.read()
        mbuf = ctypes.create_string_buffer(msg, len(msg))
        data = Data(0, len(msg), ctypes.cast(mbuf, VP))
        check(k5.krb5_auth_con_setrecvsubkey(ctx, ac, ctypes.byref(key)), "setrecvsubkey")
        creds = ctypes.POINTER(ctypes.POINTER(CredsHead))()
        check(k5.krb5_rd_cred(ctx, ac, ctypes.byref(data), ctypes.byref(creds), None), "krb5_rd_cred")
        c = creds[0]
        check(k5.krb5_cc_resolve(ctx, ("FILE:" + path).encode(), ctypes.byref(cc)), "krb5_cc_resolve")
        check(k5.krb5_cc_initialize(ctx, cc, c.contents.client), "krb5_cc_initialize")
        check(k5.krb5_cc_store_cred(ctx, cc, c), "krb5_cc_store_cred")
        name = ctypes.c_char_p()
        check(k5.krb5_unparse_name(ctx, c.contents.client, ctypes.byref(name)), "krb5_unparse_name")
        print(name.value.decode())
        return
    check(k5.krb5_cc_resolve(ctx, ("FILE:" + path).encode(), ctypes.byref(cc)), "krb5_cc_resolve")
    me = VP()
    check(k5.krb5_cc_get_principal(ctx, cc, ctypes.byref(me)), "krb5_cc_get_principal")
    name = ctypes.c_char_p()
    check(k5.krb5_unparse_name(ctx, me, ctypes.byref(name)), "krb5_unparse_name")
    r = name.value.decode().rsplit("@", 1)[1]
    tgs = VP()
    check(k5.krb5_parse_name(ctx, ("krbtgt/%s@%s" % (r, r)).encode(), ctypes.byref(tgs)), "krb5_parse_name")
    match = ctypes.create_string_buffer(512)  # krb5_creds is 120 bytes on LP64
    out = ctypes.create_string_buffer(512)
    head = CredsHead.from_buffer(match)
    head.client, head.server = me, tgs
    check(k5.krb5_cc_retrieve_cred(ctx, cc, 0, match, out), "krb5_cc_retrieve_cred")
    check(k5.krb5_auth_con_setsendsubkey(ctx, ac, ctypes.byref(key)), "setsendsubkey")
    der = ctypes.POINTER(Data)()
    check(k5.krb5_mk_1cred(ctx, ac, out, ctypes.byref(der), None), "krb5_mk_1cred")
    sys.stdout.buffer.write(ctypes.string_at(der.contents.data, der.contents.length))

main()
