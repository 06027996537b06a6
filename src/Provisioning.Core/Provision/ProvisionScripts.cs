using System.Security.Cryptography;
using System.Text;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Provision;

/// <summary>A task with its arguments rendered for one host, and its local content (a file's bytes, an archive) loaded.</summary>
/// <param name="Index">The task's key in the step's report (<c>0</c>, <c>1</c>..., <c>h0</c>... for handlers).</param>
/// <param name="Task">The task as the document has it.</param>
/// <param name="Values">Its string arguments, rendered.</param>
/// <param name="Lists">Its list arguments, rendered.</param>
/// <param name="Content">The bytes a file or unarchive task sends.</param>
/// <param name="Title">The task as results name it, rendered for the host (<c>file: /opt/app/app.conf</c>).</param>
internal sealed record RenderedTask(string Index, ProvisionTask Task, IReadOnlyDictionary<string, string> Values,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Lists, byte[]? Content, string Title)
{
    public string? this[string key] => Values.TryGetValue(key, out var v) ? v : null;
    public IReadOnlyList<string> List(string key) => Lists.TryGetValue(key, out var l) ? l : Values.TryGetValue(key, out var v) ? [v] : [];
}

/// <summary>
/// Renders one step for one host into one POSIX sh script: each task's check, diff and apply run on the host, and
/// each task reports one line, <c>R&lt;tab&gt;index&lt;tab&gt;status&lt;tab&gt;message</c>, with its diff on
/// <c>D&lt;tab&gt;index&lt;tab&gt;line</c> lines. Files travel inside the script (base64, checked by sha256 before they
/// replace anything), so a step is one round trip. Needs only a POSIX shell and coreutils (diff for diffs).
/// In check mode (<c>check_=1</c>) every check and diff runs and nothing is changed.
/// </summary>
internal static class ProvisionScripts
{
    private const string Prelude = """
        fail_=0; T_=$(mktemp -d 2>/dev/null) || { T_=/tmp/.provisioning.$$; mkdir -p "$T_" || exit 3; }
        trap 'rm -rf "$T_"' EXIT
        ch() { st_=changed; msg_="${msg_:+$msg_; }$1"; }
        bad() { st_=failed; msg_=$1; }
        errtxt() { [ -s "$T_/e" ] && tr '\t\n' '  ' < "$T_/e" | head -c 600; }
        outtxt() { [ -s "$T_/o" ] && tail -c 600 "$T_/o" | tr '\t\n' '  '; }
        dry() { [ "$check_" = 1 ]; }
        attrs() {
            [ -e "$1" ] || return 0
            set -- "$1" "$2" "$3" "$4" $(stat -c '%a %U %G' "$1")
            if [ -n "$2" ] && [ "$5" != "$2" ]; then ch "mode $5 -> $2"; dry || chmod "$2" "$1" 2>"$T_/e" || { bad "chmod: $(errtxt)"; return 1; }; fi
            if [ -n "$3" ] && [ "$6" != "$3" ]; then ch "owner $6 -> $3"; dry || chown "$3" "$1" 2>"$T_/e" || { bad "chown: $(errtxt)"; return 1; }; fi
            if [ -n "$4" ] && [ "$7" != "$4" ]; then ch "group $7 -> $4"; dry || chgrp "$4" "$1" 2>"$T_/e" || { bad "chgrp: $(errtxt)"; return 1; }; fi
            return 0
        }
        dif() { diff -u --label "$4 (before)" --label "$4 (after)" "$2" "$3" 2>/dev/null | head -n 400 | sed "s/^/D	$1	/"; }
        payload() { printf '%s' "$2" | base64 -d > "$1" 2>"$T_/e" || { bad "the content could not be decoded: $(errtxt)"; return 1; }
            s_=$(sha256sum "$1") && [ "${s_%% *}" = "$3" ] || { bad "the content arrived damaged (sha256 mismatch); nothing was changed"; return 1; }; }
        report() { printf 'R\t%s\t%s\t%s\n' "$1" "$st_" "$msg_"; [ "$st_" = failed ] && fail_=1; return 0; }
        """;

    /// <summary>The script of one step: its tasks, then the handlers that its changed tasks notified.</summary>
    public static string Step(IReadOnlyList<RenderedTask> tasks, IReadOnlyList<(RenderedTask Handler, IReadOnlyList<string> NotifiedBy)> handlers,
        string? packageManager, bool check)
    {
        var s = new StringBuilder();
        s.Append("check_=").Append(check ? '1' : '0').Append('\n').Append(Prelude).Append('\n');
        foreach (var task in tasks)
        {
            s.Append("st_=ok; msg_=\nif [ \"$fail_\" = 1 ]; then st_=skipped; msg_='an earlier task of the step failed'\nelse\n");
            s.Append(Body(task, packageManager));
            s.Append("fi\nreport ").Append(task.Index).Append("; [ \"$st_\" = changed ] && c_").Append(task.Index).Append("=1\n");
        }
        foreach (var (handler, notifiedBy) in handlers)
        {
            // A handler runs once, at the end of the step, only if a task that notifies it changed and none failed.
            var condition = string.Join(" || ", notifiedBy.Select(i => $"[ \"${{c_{i}:-}}\" = 1 ]"));
            s.Append("if [ \"$fail_\" = 0 ] && { ").Append(condition).Append("; }; then st_=ok; msg_=\n").Append(Body(handler, packageManager))
             .Append("report ").Append(handler.Index).Append("\nfi\n");
        }
        s.Append("exit 0\n");
        return s.ToString();
    }

    private static string Q(string value) => PosixShell.QuotePath(value);

    private static string Mode(string? mode) => mode is null ? "''" : Q(mode.TrimStart('0') is { Length: > 0 } m ? m : "0");

    private static string Body(RenderedTask t, string? packageManager) => t.Task.Type switch
    {
        ProvisionTaskType.Directory => Directory(t),
        ProvisionTaskType.File => File(t),
        ProvisionTaskType.Line => Line(t),
        ProvisionTaskType.Command => Command(t),
        ProvisionTaskType.User => User(t),
        ProvisionTaskType.Group => Group(t),
        ProvisionTaskType.Service => Service(t),
        ProvisionTaskType.Unarchive => Unarchive(t),
        ProvisionTaskType.Package => Package(t, packageManager),
        _ => "bad 'unknown task type'\n",
    };

    private static bool Absent(RenderedTask t) => t["state"] == "absent";

    private static string Remove(string p) => $"""
        if [ -e {p} ] || [ -L {p} ]; then ch removed; dry || rm -rf -- {p} 2>"$T_/e" || bad "rm: $(errtxt)"; fi

        """;

    private static string Directory(RenderedTask t)
    {
        var p = Q(t["path"]!);
        if (Absent(t)) return Remove(p);
        return $"""
            if [ -d {p} ]; then :; elif [ -e {p} ]; then bad "{Plain(t["path"]!)} exists and is not a directory"
            else ch created; dry || mkdir -p -- {p} 2>"$T_/e" || bad "mkdir: $(errtxt)"; fi
            [ "$st_" = failed ] || attrs {p} {Mode(t["mode"])} {Q(t["owner"] ?? "")} {Q(t["group"] ?? "")}

            """;
    }

    private static string File(RenderedTask t)
    {
        var p = Q(t["path"]!);
        if (Absent(t)) return Remove(p);
        if (t.Task.Text("copy") is { } copy && System.IO.Directory.Exists(copy)) return Tree(t);
        var content = t.Content ?? [];
        return $$"""
            payload "$T_/n" '{{Convert.ToBase64String(content)}}' {{Sha256(content)}}
            if [ "$st_" != failed ]; then
                if [ -d {{p}} ]; then bad "{{Plain(t["path"]!)}} is a directory"
                elif [ -f {{p}} ] && cmp -s "$T_/n" {{p}}; then :
                else
                    if [ -f {{p}} ]; then ch 'content changed'; dif {{t.Index}} {{p}} "$T_/n" {{p}}; else ch created; dif {{t.Index}} /dev/null "$T_/n" {{p}}; fi
                    if ! dry; then
                        { { [ -e {{p}} ] && cp -p -- {{p}} {{p}}.prov-tmp.$$; }; cat "$T_/n" > {{p}}.prov-tmp.$$ && mv -f -- {{p}}.prov-tmp.$$ {{p}}; } 2>"$T_/e" || { rm -f -- {{p}}.prov-tmp.$$; bad "writing: $(errtxt)"; }
                    fi
                fi
                [ "$st_" = failed ] || attrs {{p}} {{Mode(t["mode"])}} {{Q(t["owner"] ?? "")}} {{Q(t["group"] ?? "")}}
            fi

            """;
    }

    // A folder: its files (from a tar) are compared one by one with the host's, each changed one diffed, and copied
    // over the folder (files the host has besides are kept, as Ansible's copy keeps them).
    private static string Tree(RenderedTask t)
    {
        var p = Q(t["path"]!);
        var content = t.Content ?? [];
        return $$"""
            payload "$T_/t.tar" '{{Convert.ToBase64String(content)}}' {{Sha256(content)}} && mkdir -p "$T_/tree" && tar -xf "$T_/t.tar" -C "$T_/tree" 2>"$T_/e" || { [ "$st_" = failed ] || bad "tar: $(errtxt)"; }
            if [ "$st_" != failed ]; then
                if [ -e {{p}} ] && [ ! -d {{p}} ]; then bad "{{Plain(t["path"]!)}} exists and is not a directory"
                else
                    ( cd "$T_/tree" && find . -type f ) | while IFS= read -r f_; do f_=${f_#./}; cmp -s "$T_/tree/$f_" {{p}}/"$f_" || echo "$f_"; done > "$T_/changed"
                    if [ -s "$T_/changed" ]; then
                        ch "$(wc -l < "$T_/changed" | tr -d ' ') file(s) changed"
                        while IFS= read -r f_; do o_={{p}}/"$f_"; [ -f "$o_" ] || o_=/dev/null; dif {{t.Index}} "$o_" "$T_/tree/$f_" {{p}}/"$f_"; done < "$T_/changed"
                        dry || { mkdir -p -- {{p}} && cp -Rp "$T_/tree/." {{p}}/; } 2>"$T_/e" || bad "copying: $(errtxt)"
                    fi
                    [ "$st_" = failed ] || attrs {{p}} {{Mode(t["mode"])}} {{Q(t["owner"] ?? "")}} {{Q(t["group"] ?? "")}}
                fi
            fi

            """;
    }

    // awk gets its values through the environment: -v would interpret backslashes in the line and the regexp.
    private const string LineProgram =
        "BEGIN { l = ENVIRON[\"L_\"]; r = ENVIRON[\"R_\"]; s = ENVIRON[\"S_\"] } " +
        "{ a[NR] = $0; if (r != \"\" && $0 ~ r) m = NR; if ($0 == l) e = NR } " +
        "END { n = NR; if (s == \"present\") { if (m) a[m] = l; else if (!e) a[++n] = l; for (i = 1; i <= n; i++) print a[i] } " +
        "else for (i = 1; i <= n; i++) if (!(r != \"\" ? a[i] ~ r : a[i] == l)) print a[i] }";

    private static string Line(RenderedTask t)
    {
        var p = Q(t["path"]!);
        var create = t.Task.Flag("create") == true ? "1" : "0";
        return $"""
            if [ -f {p} ] || [ {create} = 1 ]; then
                s_={p}; [ -e {p} ] || s_=/dev/null
                L_={Q(t["line"] ?? "")} R_={Q(t["regexp"] ?? "")} S_={(Absent(t) ? "absent" : "present")} awk {PosixShell.Quote(LineProgram)} "$s_" > "$T_/n" 2>"$T_/e" || bad "awk: $(errtxt)"
                if [ "$st_" != failed ] && ! cmp -s "$s_" "$T_/n"; then
                    ch {(Absent(t) ? "'line removed'" : "'line set'")}; dif {t.Index} "$s_" "$T_/n" {p}
                    dry || cat "$T_/n" > {p} 2>"$T_/e" || bad "writing: $(errtxt)"
                fi
            else bad "{Plain(t["path"]!)} does not exist (create: true makes it)"; fi

            """;
    }

    private static string Command(RenderedTask t)
    {
        var s = new StringBuilder("skip_=\n");
        if (t["creates"] is { } creates) s.Append($"[ -e {Q(creates)} ] && skip_=\"{Plain(creates)} exists\"\n");
        if (t["removes"] is { } removes) s.Append($"[ -z \"$skip_\" ] && [ ! -e {Q(removes)} ] && skip_=\"{Plain(removes)} does not exist\"\n");
        if (t["unless"] is { } unless) s.Append($"[ -z \"$skip_\" ] && sh -c {PosixShell.Quote(unless)} </dev/null >/dev/null 2>&1 && skip_=\"'unless' succeeded\"\n");
        if (t["onlyif"] is { } onlyif) s.Append($"[ -z \"$skip_\" ] && ! sh -c {PosixShell.Quote(onlyif)} </dev/null >/dev/null 2>&1 && skip_=\"'onlyif' failed\"\n");
        var cd = t["chdir"] is { } dir ? $"cd -- {Q(dir)} && " : "";
        s.Append($"""
            if [ -n "$skip_" ]; then msg_="not run: $skip_"
            elif dry; then ch run
            else ch ran; ( {cd}sh -c {PosixShell.Quote(t["run"]!)} ) </dev/null >"$T_/o" 2>&1; c_=$?; [ $c_ = 0 ] || bad "exit $c_: $(outtxt)"; fi

            """);
        return s.ToString();
    }

    private static string User(RenderedTask t)
    {
        var n = Q(t["name"]!);
        if (Absent(t)) return $"""
            if getent passwd {n} >/dev/null; then ch removed; dry || userdel {n} 2>"$T_/e" || bad "userdel: $(errtxt)"; fi

            """;
        var create = new StringBuilder("useradd -m");
        if (t["uid"] is { } uid) create.Append(" -u ").Append(Q(uid));
        if (t["shell"] is { } shell) create.Append(" -s ").Append(Q(shell));
        if (t["home"] is { } home) create.Append(" -d ").Append(Q(home));
        var groups = t.List("groups");
        if (groups.Count > 0) create.Append(" -G ").Append(Q(string.Join(",", groups)));
        create.Append(' ').Append(n);
        var s = new StringBuilder($"""
            if e_=$(getent passwd {n}); then
                IFS=: read -r x_ x_ u_ x_ x_ h_ sh_ <<PROV_EOF
            $e_
            PROV_EOF

            """);
        void Attr(string key, string var, string flag)
        {
            if (t[key] is not { } v) return;
            s.Append($"    [ \"${var}\" = {Q(v)} ] || {{ ch \"{key} ${var} -> {Plain(v)}\"; dry || usermod {flag} {Q(v)} {n} 2>\"$T_/e\" || bad \"usermod: $(errtxt)\"; }}\n");
        }
        Attr("uid", "u_", "-u");
        Attr("shell", "sh_", "-s");
        Attr("home", "h_", "-d");
        if (groups.Count > 0)
        {
            s.Append($"    g_=\" $(id -nG {n}) \"\n");
            foreach (var g in groups)
                s.Append($"    case \"$g_\" in *\" {Plain(g)} \"*) ;; *) ch \"added to {Plain(g)}\"; dry || usermod -a -G {Q(g)} {n} 2>\"$T_/e\" || bad \"usermod: $(errtxt)\" ;; esac\n");
        }
        s.Append($"""
            else
                ch created
                # A group of the user's name is its primary group (useradd refuses to create it again).
                if getent group {n} >/dev/null; then dry || {create.ToString().Replace("useradd -m", "useradd -m -g " + n)} 2>"$T_/e" || bad "useradd: $(errtxt)"
                else dry || {create} 2>"$T_/e" || bad "useradd: $(errtxt)"; fi
            fi

            """);
        return s.ToString();
    }

    private static string Group(RenderedTask t)
    {
        var n = Q(t["name"]!);
        if (Absent(t)) return $"""
            if getent group {n} >/dev/null; then ch removed; dry || groupdel {n} 2>"$T_/e" || bad "groupdel: $(errtxt)"; fi

            """;
        var gid = t["gid"];
        return $"""
            if e_=$(getent group {n}); then
                {(gid is null ? ":" : $"IFS=: read -r x_ x_ g_ x_ <<PROV_EOF\n$e_\nPROV_EOF\n    [ \"$g_\" = {Q(gid)} ] || {{ ch \"gid $g_ -> {Plain(gid)}\"; dry || groupmod -g {Q(gid)} {n} 2>\"$T_/e\" || bad \"groupmod: $(errtxt)\"; }}")}
            else ch created; dry || groupadd {(gid is null ? "" : "-g " + Q(gid) + " ")}{n} 2>"$T_/e" || bad "groupadd: $(errtxt)"; fi

            """;
    }

    private static string Service(RenderedTask t)
    {
        var n = Q(t["name"]!);
        var s = new StringBuilder("if [ ! -d /run/systemd/system ]; then st_=skipped; msg_='the host has no systemd'\nelse\n");
        switch (t["state"])
        {
            case "started":
                s.Append($"    systemctl is-active --quiet {n} || {{ ch started; dry || systemctl start {n} 2>\"$T_/e\" || bad \"systemctl start: $(errtxt)\"; }}\n");
                break;
            case "stopped":
                s.Append($"    ! systemctl is-active --quiet {n} || {{ ch stopped; dry || systemctl stop {n} 2>\"$T_/e\" || bad \"systemctl stop: $(errtxt)\"; }}\n");
                break;
            case "restarted":
                s.Append($"    ch restarted; dry || systemctl restart {n} 2>\"$T_/e\" || bad \"systemctl restart: $(errtxt)\"\n");
                break;
        }
        if (t.Task.Flag("enabled") is { } enabled)
        {
            s.Append(enabled
                ? $"    [ \"$st_\" = failed ] || systemctl is-enabled --quiet {n} || {{ ch enabled; dry || systemctl enable {n} 2>\"$T_/e\" || bad \"systemctl enable: $(errtxt)\"; }}\n"
                : $"    [ \"$st_\" = failed ] || ! systemctl is-enabled --quiet {n} || {{ ch disabled; dry || systemctl disable {n} 2>\"$T_/e\" || bad \"systemctl disable: $(errtxt)\"; }}\n");
        }
        return s.Append("fi\n").ToString();
    }

    private static string Unarchive(RenderedTask t)
    {
        var dest = Q(t["dest"]!);
        var content = t.Content ?? [];
        var creates = t["creates"] is { } c ? $"if [ -e {Q(c)} ]; then msg_=\"not extracted: {Plain(c)} exists\"\nel" : "";
        return $$"""
            {{creates}}if payload "$T_/a" '{{Convert.ToBase64String(content)}}' {{Sha256(content)}} && [ -d {{dest}} ] && tar -df "$T_/a" -C {{dest}} >/dev/null 2>&1; then msg_='up to date'
            elif [ "$st_" != failed ]; then ch extracted; dry || { mkdir -p -- {{dest}} && tar -xf "$T_/a" -C {{dest}}; } 2>"$T_/e" || bad "tar: $(errtxt)"; fi

            """;
    }

    private static string Package(RenderedTask t, string? manager)
    {
        var names = t.List("name");
        if (t["version"] is { } version && names.Count == 1) names = [names[0] + (manager == "apt" ? "=" : manager == "apk" ? "=" : "-") + version];
        var words = string.Join(" ", names.Select(Q));
        var state = t["state"] ?? "present";
        return manager switch
        {
            "apt" => Apt(words, state),
            "apk" => Simple(words, state, "apk info -e \"$n_\" >/dev/null 2>&1", "apk add -q", "apk del -q"),
            "dnf" or "yum" => Simple(words, state, "rpm -q \"$n_\" >/dev/null 2>&1", $"{manager} install -y -q", $"{manager} remove -y -q"),
            _ => $"bad \"no supported package manager on the host ({(manager ?? "none found")}; apt, dnf, yum and apk are)\"\n",
        };
    }

    // dpkg-query gives the state and version without a lock; install and remove go through apt-get, and a dpkg left
    // half-configured by an earlier failure is repaired (dpkg --configure -a) and the install retried once.
    private static string Apt(string words, string state) => $$"""
        todo_=
        for p_ in {{words}}; do
            n_=${p_%%=*}; v_=; case $p_ in *=*) v_=${p_#*=} ;; esac
            s_=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$n_" 2>/dev/null)
            case {{state}} in
                present) case $s_ in "installed "*) [ -z "$v_" ] || [ "${s_#installed }" = "$v_" ] || todo_="$todo_ $p_" ;; *) todo_="$todo_ $p_" ;; esac ;;
                latest) c_=$(apt-cache policy "$n_" 2>/dev/null | sed -n 's/^ *Candidate: //p'); [ "$s_" = "installed $c_" ] || todo_="$todo_ $p_" ;;
                absent) case $s_ in "installed "*) todo_="$todo_ $n_" ;; esac ;;
            esac
        done
        if [ -n "$todo_" ]; then
            if [ {{state}} = absent ]; then ch "remove$todo_"; dry || DEBIAN_FRONTEND=noninteractive apt-get remove -y -q $todo_ >"$T_/o" 2>&1 || bad "apt-get remove: $(outtxt)"
            else
                ch "install$todo_"
                if ! dry && ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $todo_ >"$T_/o" 2>&1; then
                    if grep -q 'dpkg --configure -a' "$T_/o" && dpkg --configure -a >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $todo_ >"$T_/o" 2>&1; then msg_="$msg_ (after dpkg --configure -a)"
                    else bad "apt-get install$todo_: $(outtxt)"; fi
                fi
            fi
        fi

        """;

    private static string Simple(string words, string state, string installed, string install, string remove) => $$"""
        todo_=
        for p_ in {{words}}; do n_=$p_; if {{installed}}; then [ {{state}} = absent ] && todo_="$todo_ $p_"; else [ {{state}} = absent ] || todo_="$todo_ $p_"; fi; done
        if [ -n "$todo_" ]; then
            if [ {{state}} = absent ]; then ch "remove$todo_"; dry || {{remove}} $todo_ >"$T_/o" 2>&1 || bad "$(outtxt)"
            else ch "install$todo_"; dry || {{install}} $todo_ >"$T_/o" 2>&1 || bad "$(outtxt)"; fi
        fi

        """;

    // A value inside a double-quoted message: what the shell would expand is dropped.
    private static string Plain(string value) => new(value.Where(c => c is not ('"' or '$' or '`' or '\\' or '\n' or '\t')).ToArray());

    private static string Sha256(byte[] content) => Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
}
