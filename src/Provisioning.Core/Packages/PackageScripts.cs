using System.Globalization;
using System.Text;
using Provisioning.Core.Transfer;
using Provisioning.Core.Transport;

namespace Provisioning.Core.Packages;

/// <summary>
/// The sh scripts behind the package operations, one round trip each, answering in tagged lines:
/// <list type="bullet">
/// <item><c>R codename arch</c>: the host's release and architecture;</item>
/// <item><c>S name status version</c> (after) and <c>B ...</c> (before): dpkg's state of a requested package;</item>
/// <item><c>F name==version</c> / <c>F path:name@version</c>: pip's or npm's installed list;</item>
/// <item><c>I Inst ...</c>: the agent's own dry run; <c>U 'uri' file size hash</c>: a file apt would fetch;
/// <c>C name version filename sha256 size</c>: a file's hash from the host's package lists;</item>
/// <item><c>H sha256 file</c>: a file already staged on the host; <c>N origin 0|1</c>: whether a repository answers;</item>
/// <item><c>A</c>: dpkg's database needs <c>--configure -a</c>; <c>E text</c>: the manager's error; <c>X code</c> and
/// <c>O text</c>: the exit status and last output of the install; <c>Z tool</c>: the manager is not on the host.</item>
/// </list>
/// </summary>
internal static class PackageScripts
{
    /// <summary>Where pushed wheels, npm tarballs and local .deb files wait on the host (reused by later runs).</summary>
    public static string StagingDir(PackageManager manager) => "~/.cache/provisioning/" + manager.ToString().ToLowerInvariant();

    /// <summary>Where apt keeps downloaded archives: files pushed there are used by <c>apt-get --no-download</c>.</summary>
    public const string AptArchives = "/var/cache/apt/archives";

    // Q_: apt's progress lines, left out of what a failure quotes (what remains is the manager's and the scripts' own words).
    private const string Prologue = """
        export LC_ALL=C DEBIAN_FRONTEND=noninteractive
        Q_='^(Reading |Building |Selecting |Preparing |Unpacking |\(Reading database|Setting up |Processing triggers|Get:|Fetched |After this |The following |Need to get |[0-9]+ upgraded|Removing |  [a-z0-9])'

        T_=$(mktemp -d) || exit 3
        trap 'rm -rf -- "$T_"' EXIT
        trap 'exit 143' HUP INT TERM

        """;

    // A TCP connection within 3 s to each origin the files would come from (bash's /dev/tcp, else perl's socket).
    private const string ProbeFunction = """
        probe_() {
            case $1 in
                file:*) p_=${1#file:}; p_=/${p_#"${p_%%[!/]*}"}; [ -r "$p_" ]; return ;;
                https://*) d_=443 ;; *) d_=80 ;;
            esac
            a_=${1#*://}; a_=${a_%%/*}; h_=${a_%:*}; o_=${a_##*:}; [ "$h_" = "$a_" ] && o_=$d_
            if command -v bash >/dev/null 2>&1; then timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$h_" "$o_" 2>/dev/null
            else timeout 3 perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new(PeerAddr=>$ARGV[0],PeerPort=>$ARGV[1],Timeout=>2)' "$h_" "$o_" 2>/dev/null; fi
        }

        """;

    /// <summary>
    /// apt, one round trip: the release, the state of every requested package, and for the ones to install the
    /// agent's own dry run, the files it lacks (with their hashes from its package lists) and, with
    /// <paramref name="probe"/>, whether their repositories answer. <paramref name="save"/> resolves the whole
    /// closure as a fresh host would need it (an empty archive folder, reinstalling what is installed).
    /// </summary>
    public static string AptPlan(IReadOnlyList<string> arguments, bool probe, bool save) => $$"""
        {{Prologue}}command -v apt-get >/dev/null 2>&1 || { echo "Z apt-get"; exit 0; }
        VERSION_CODENAME=; VERSION_ID=; [ -r /etc/os-release ] && . /etc/os-release
        r_=${VERSION_CODENAME:-$VERSION_ID}; echo "R ${r_:-unknown} $(dpkg --print-architecture)"
        todo_=
        for p_ in {{Words(arguments)}}; do
            case $p_ in /*|./*) n_=$(dpkg-deb -f "$p_" Package 2>/dev/null); v_=$(dpkg-deb -f "$p_" Version 2>/dev/null) ;;
                *) n_=${p_%%=*}; v_=; case $p_ in *=*) v_=${p_#*=} ;; esac ;; esac
            s_=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$n_" 2>/dev/null)
            echo "S $p_ ${s_:-not-installed}"
            {{(save ? SaveAll : TodoUnlessInstalled)}}
        done
        [ -n "$todo_" ] || exit 0
        [ -n "$(dpkg --audit 2>/dev/null)" ] && echo A
        # The closure's files, all of them (an empty archive folder: apt leaves out none it already has).
        mkdir -p "$T_/a/partial"; x_="{{(save ? "--reinstall " : "")}}-o Dir::Cache::Archives=$T_/a/"
        if ! apt-get -qq --print-uris $x_ install $todo_ >"$T_/u" 2>"$T_/e"; then
            { cat "$T_/e"; grep '^E: ' "$T_/u"; } | sed 's/^/E /'
            exit 0
        fi
        sed 's/^/U /' "$T_/u"
        # Those already in apt's archives (an earlier push or download), with their hashes: only the others travel.
        sed -n "s/^'[^']*' \([^ ]*\) .*/\1/p" "$T_/u" | while IFS= read -r f_; do
            [ -f "/var/cache/apt/archives/$f_" ] && echo "K $f_ $(sha256sum < "/var/cache/apt/archives/$f_" | cut -d' ' -f1)"
        done
        # SHA-256 from the host's lists for the files print-uris gave another hash (Debian's give MD5Sum) or none (unsigned).
        if grep -qv ' SHA256:' "$T_/u"; then
            v_=$(sed -n "s/^'[^']*' \([^_]*\)_\([^_]*\)_.*/\1=\2/p" "$T_/u" | sed 's/%3a/:/g')
            [ -z "$v_" ] || apt-cache show $v_ 2>/dev/null | awk '
                /^Package: /{p=$2} /^Version: /{v=$2} /^Filename: /{f=$2} /^SHA256: /{h=$2} /^Size: /{z=$2}
                /^$/{if(f!="")print "C "p" "v" "f" "h" "z; p=v=f=h=z=""} END{if(f!="")print "C "p" "v" "f" "h" "z}'
        fi
        {{(probe ? ProbeFunction + ProbeLines : "")}}
        """;

    private const string SaveAll = "todo_=\"$todo_ $p_\"";

    private const string TodoUnlessInstalled = """case $s_ in "installed "*) [ -z "$v_" ] || [ "${s_#installed }" = "$v_" ] || todo_="$todo_ $p_" ;; *) todo_="$todo_ $p_" ;; esac""";

    // One N line per origin of the files apt would fetch (file: repositories are checked as paths).
    private const string ProbeLines = """
        sed -n "s/^'\([^']*\)'.*/\1/p" "$T_/u" | while IFS= read -r u_; do
            case $u_ in file:*) echo "$u_" ;; *) echo "$u_" | sed 's|^\([a-z+]*://[^/]*\)/.*|\1|' ;; esac
        done | sort -u | while IFS= read -r o_; do if probe_ "$o_"; then echo "N $o_ 1"; else echo "N $o_ 0"; fi; done

        """;

    /// <summary>
    /// apt, one round trip: with <paramref name="nonce"/>, first receive the pushed files (into apt's archives, or
    /// the staging folder for local .deb files); then repair an interrupted dpkg, install, and after a failure let
    /// dpkg configure what it can, so the database is left consistent; then the state of every requested package.
    /// </summary>
    public static string AptInstall(IReadOnlyList<string> arguments, IReadOnlyList<string> names, string? nonce, string receiveRoot,
        bool noDownload, TimeSpan lockTimeout) => $$"""
        {{Receive(nonce, receiveRoot)}}{{Prologue}}if [ -n "$(dpkg --audit 2>/dev/null)" ]; then dpkg --configure -a >"$T_/c" 2>&1 && echo "F configured"; fi
        cd {{PosixShell.QuotePath(receiveRoot)}} 2>/dev/null || cd /
        apt-get install -y -q {{(noDownload ? "--no-download " : "")}}-o DPkg::Lock::Timeout={{Seconds(lockTimeout)}} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {{Words(arguments)}} >"$T_/o" 2>&1
        rc_=$?
        echo "X $rc_"
        if [ "$rc_" -ne 0 ]; then
            grep -vE "$Q_" "$T_/o" | tail -n 12 | sed 's/^/O /'
            [ -n "$(dpkg --audit 2>/dev/null)" ] && { echo A; dpkg --configure -a >/dev/null 2>&1; }
        fi
        {{AptStates(names, "S")}}
        """;

    /// <summary>
    /// apt with the files from the controller, one round trip: receive the files the host lacked into apt's archives,
    /// then install the whole closure the plan resolved with dpkg (no second resolution, no network), waiting up to
    /// <paramref name="lockTimeout"/> for a database another apt holds; a failure is followed by dpkg configuring what
    /// it can, and the state of every requested package.
    /// </summary>
    public static string AptInstallFiles(IReadOnlyList<string> files, IReadOnlyList<string> names, string? nonce, TimeSpan lockTimeout) => $$"""
        {{Receive(nonce, AptArchives)}}{{Prologue}}if [ -n "$(dpkg --audit 2>/dev/null)" ]; then dpkg --configure -a >"$T_/c" 2>&1 && echo "F configured"; fi
        cd {{AptArchives}} || exit 3
        end_=$(( $(date +%s) + {{Seconds(lockTimeout)}} ))
        while :; do
            dpkg -i --force-confdef --force-confold {{Words(files)}} >"$T_/o" 2>&1
            rc_=$?
            if [ "$rc_" -ne 0 ] && grep -q 'frontend lock\|database is locked\|Could not get lock' "$T_/o" && [ "$(date +%s)" -lt "$end_" ]; then sleep 1; continue; fi
            break
        done
        echo "X $rc_"
        if [ "$rc_" -ne 0 ]; then
            grep -vE "$Q_" "$T_/o" | tail -n 12 | sed 's/^/O /'
            [ -n "$(dpkg --audit 2>/dev/null)" ] && { echo A; dpkg --configure -a >/dev/null 2>&1; }
        fi
        {{AptStates(names, "S")}}
        """;

    /// <summary>apt, one round trip: the state before, the removal of what is installed, and the state after.</summary>
    public static string AptRemove(IReadOnlyList<string> names, bool check, bool purge, TimeSpan lockTimeout) => $$"""
        {{Prologue}}command -v apt-get >/dev/null 2>&1 || { echo "Z apt-get"; exit 0; }
        todo_=
        for n_ in {{Words(names)}}; do
            s_=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$n_" 2>/dev/null)
            echo "B $n_ ${s_:-not-installed}"
            case $s_ in "installed "*|"half-"*|"unpacked "*) todo_="$todo_ $n_" ;; esac
        done
        [ -n "$todo_" ] || exit 0
        {{(check ? "apt-get -s -q remove $todo_ 2>&1 | grep '^Remv ' | sed 's/^/I /'; exit 0" : "")}}
        apt-get {{(purge ? "purge" : "remove")}} -y -q -o DPkg::Lock::Timeout={{Seconds(lockTimeout)}} $todo_ >"$T_/o" 2>&1
        rc_=$?
        echo "X $rc_"
        [ "$rc_" -eq 0 ] || grep -vE "$Q_" "$T_/o" | tail -n 12 | sed 's/^/O /'
        {{AptStates(names, "S")}}
        """;

    /// <summary>
    /// pip or npm, one round trip: the installed list, the files already staged on the host and, with
    /// <paramref name="probe"/>, whether the manager's index answers.
    /// </summary>
    public static string ToolPlan(PackageManager manager, string tool, bool probe)
    {
        var index = manager == PackageManager.Pip
            ? "i_=$(" + tool + " config get global.index-url 2>/dev/null); [ -n \"$i_\" ] || i_=https://pypi.org/simple"
            : "i_=$(npm config get registry 2>/dev/null); [ -n \"$i_\" ] || i_=https://registry.npmjs.org/";
        return $$"""
            {{Prologue}}{{ToolCheck(manager, tool)}}
            {{ListInstalled(manager, tool, "F")}}
            d_={{PosixShell.QuotePath(StagingDir(manager))}}
            [ -d "$d_" ] && (cd "$d_" && for f_ in *; do [ -f "$f_" ] && sha256sum -- "$f_"; done) | sed 's/^/H /'
            {{(probe ? ProbeFunction + index + "\no_=$(echo \"$i_\" | sed 's|^\\([a-z+]*://[^/]*\\)/.*|\\1|')\nif probe_ \"$o_\"; then echo \"N $o_ 1\"; else echo \"N $o_ 0\"; fi" : "")}}
            exit 0
            """;
    }

    /// <summary>pip or npm, one round trip: receive the pushed files, install, and list what is installed after.</summary>
    public static string ToolInstall(PackageManager manager, string tool, IReadOnlyList<string> arguments, string? nonce, bool offline)
    {
        var staging = StagingDir(manager);
        var install = manager == PackageManager.Pip
            ? $"{tool} install --disable-pip-version-check --no-input {(offline ? "--no-index --find-links \"$d_\" " : "")}{Words(arguments)}"
            : $"npm install -g --no-audit --no-fund --loglevel=error {(offline ? "--offline " : "")}{Words(arguments)}";
        return $$"""
            {{Receive(nonce, staging)}}{{Prologue}}d_={{PosixShell.QuotePath(staging)}}
            cd "$d_" 2>/dev/null || cd
            {{install}} >"$T_/o" 2>&1
            rc_=$?
            echo "X $rc_"
            [ "$rc_" -eq 0 ] || tail -n 20 "$T_/o" | sed 's/^/O /'
            {{ListInstalled(manager, tool, "F")}}
            """;
    }

    /// <summary>pip or npm, one round trip: the list before, the removal, the list after.</summary>
    public static string ToolRemove(PackageManager manager, string tool, IReadOnlyList<string> names, bool check) => $$"""
        {{Prologue}}{{ToolCheck(manager, tool)}}
        {{ListInstalled(manager, tool, "B")}}
        {{(check ? "exit 0" : "")}}
        {{(manager == PackageManager.Pip ? tool + " uninstall -y --disable-pip-version-check" : "npm uninstall -g --no-audit --no-fund --loglevel=error")}} {{Words(names)}} >"$T_/o" 2>&1
        rc_=$?
        echo "X $rc_"
        [ "$rc_" -eq 0 ] || tail -n 20 "$T_/o" | sed 's/^/O /'
        {{ListInstalled(manager, tool, "F")}}
        """;

    /// <summary>Get-AgentPackage, one round trip: the installed packages of each manager the host has (apt filtered by dpkg's own globs).</summary>
    public static string List(IReadOnlyList<PackageManager> managers, IReadOnlyList<string> aptPatterns, string pipTool)
    {
        var s = new StringBuilder("export LC_ALL=C\n");
        foreach (var manager in managers)
        {
            s.Append(manager switch
            {
                PackageManager.Apt => $"command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f='L apt ${{db:Status-Status}} ${{Package}} ${{Version}} ${{Architecture}}\\n' {Words(aptPatterns)} 2>/dev/null | grep '^L apt installed '\n",
                PackageManager.Pip => $"{pipTool} --version >/dev/null 2>&1 && {pipTool} list --format=freeze --disable-pip-version-check 2>/dev/null | sed 's/^/L pip /'\n",
                _ => "command -v npm >/dev/null 2>&1 && npm ls -g --depth=0 --parseable --long 2>/dev/null | sed 's/^/L npm /'\n",
            });
        }
        return s.Append("exit 0\n").ToString();
    }

    private static string ToolCheck(PackageManager manager, string tool) => manager == PackageManager.Pip
        ? tool + " --version >/dev/null 2>&1 || { echo \"Z " + tool.Replace("\"", "", StringComparison.Ordinal) + "\"; exit 0; }"
        : "command -v npm >/dev/null 2>&1 || { echo \"Z npm\"; exit 0; }";

    private static string ListInstalled(PackageManager manager, string tool, string tag) => manager == PackageManager.Pip
        ? $"{tool} list --format=freeze --disable-pip-version-check 2>/dev/null | sed 's/^/{tag} /'"
        : $"npm ls -g --depth=0 --parseable --long 2>/dev/null | sed 's/^/{tag} /'";

    private static string AptStates(IReadOnlyList<string> names, string tag) =>
        $"for n_ in {Words(names)}; do s_=$(dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' \"$n_\" 2>/dev/null); echo \"{tag} $n_ ${{s_:-not-installed}}\"; done";

    // The pushed files land first, with Send-AgentFile's receiver: nothing moves into place unless the whole stream
    // arrived. It runs in a subshell of its own (it exits), and a failed transfer ends the script before anything runs.
    private static string Receive(string? nonce, string root) => nonce is null ? "" :
        "( " + TransferScripts.Receive(root, nonce, exactMode: false) + "\n) >/dev/null || exit 3\n";

    private static string Words(IEnumerable<string> values) => string.Join(' ', values.Select(PosixShell.Quote));

    private static string Seconds(TimeSpan t) => ((long)Math.Ceiling(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}
