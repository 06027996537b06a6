using System.Reflection;
using System.Text.RegularExpressions;

namespace Provisioning.Module.Tests;

[Collection(BuiltModuleCollection.Name)]
public sealed class CmdletConventionTests(BuiltModule module)
{
    private static readonly string[] CommonParameters =
    [
        "Verbose", "vb", "Debug", "db", "ErrorAction", "ea", "WarningAction", "wa", "InformationAction", "infa",
        "ProgressAction", "proga", "ErrorVariable", "ev", "WarningVariable", "wv", "InformationVariable", "iv",
        "OutVariable", "ov", "OutBuffer", "ob", "PipelineVariable", "pv", "WhatIf", "wi", "Confirm", "cf", "UseTransaction", "usetx",
    ];

    [Fact]
    public void The_module_has_the_issue_2_cmdlets()
    {
        var names = module.CmdletTypes.Select(c => c.Name).ToHashSet();
        // xunit's Superset takes the expected subset first.
        Assert.Superset(new HashSet<string>
        {
            "New-Testbed", "Get-Testbed", "Remove-Testbed", "Get-AgentMachine", "Set-AgentVariable", "Test-AgentMachine", "Invoke-RemoteCommand",
        }, names);
    }

    [Fact]
    public void Every_cmdlet_is_a_sealed_public_PSCmdlet_named_after_its_verb_and_noun()
    {
        Assert.All(module.CmdletTypes, c =>
        {
            Assert.True(c.Type.IsPublic && c.Type.IsSealed, $"{c.Type.FullName} must be public and sealed");
            Assert.Equal($"{c.Verb}{c.Noun}Command", c.Type.Name);
            Assert.Equal("Provisioning.Commands", c.Type.Namespace);
            Assert.Contains(BaseTypes(c.Type), t => t.FullName == "System.Management.Automation.PSCmdlet");
        });
    }

    [Fact]
    public void Every_verb_is_approved()
    {
        var approved = new[] { "VerbsCommon", "VerbsData", "VerbsLifecycle", "VerbsDiagnostic", "VerbsCommunications", "VerbsSecurity", "VerbsOther" }
            .SelectMany(n => module.SmaType("System.Management.Automation." + n).GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains("Get", approved);
        Assert.All(module.CmdletTypes, c => Assert.True(approved.Contains(c.Verb), $"{c.Name}: '{c.Verb}' is not an approved verb"));
    }

    [Fact]
    public void Every_cmdlet_declares_its_output_type()
    {
        Assert.All(module.CmdletTypes, c =>
        {
            Assert.NotEmpty(c.OutputTypes);
            Assert.All(c.OutputTypes, t => Assert.IsAssignableFrom<Type>(t));
        });
    }

    [Fact]
    public void Parameter_sets_are_declared_and_distinguishable()
    {
        Assert.All(module.CmdletTypes, c =>
        {
            var sets = c.ParameterSets;
            if (sets.Count > 1)
            {
                Assert.True(c.DefaultParameterSetName is not null, $"{c.Name} has {sets.Count} parameter sets but no default");
                Assert.Contains(c.DefaultParameterSetName, sets);
                foreach (var set in sets)
                {
                    var exclusive = c.Parameters.Where(p => p.Sets.All(s => s.SetName == set));
                    Assert.True(exclusive.Any(), $"{c.Name}: parameter set '{set}' has no parameter of its own, so it cannot be selected");
                }
            }
            else if (c.DefaultParameterSetName is not null)
            {
                Assert.Contains(c.DefaultParameterSetName, sets);
            }
        });
    }

    [Fact]
    public void Each_parameter_set_takes_at_most_one_parameter_by_value_and_has_unique_positions()
    {
        Assert.All(module.CmdletTypes, c => Assert.All(c.ParameterSets, set =>
        {
            var members = c.InSet(set).ToList();
            var byValue = members.Where(m => m.Set.ValueFromPipeline).Select(m => m.Parameter.Name).ToList();
            Assert.True(byValue.Count <= 1, $"{c.Name} [{set}]: several parameters take pipeline input by value: {string.Join(", ", byValue)}");
            var positions = members.Where(m => m.Set.Position is not null).GroupBy(m => m.Set.Position).Where(g => g.Count() > 1).ToList();
            Assert.True(positions.Count == 0, $"{c.Name} [{set}]: two parameters share a position");
        }));
    }

    /// <summary>
    /// A testbed, machine or run taken from the pipeline is also the first positional argument (<c>Get-Testbed $tb</c>,
    /// <c>Get-ExperimentRun $run</c>), as PowerShell's own cmdlets take theirs; except where the set's first positional
    /// argument is the work itself (a command template or a path), as Invoke-Command's -ScriptBlock is.
    /// </summary>
    [Fact]
    public void Piped_testbeds_machines_and_runs_are_the_first_positional_argument_unless_the_work_comes_first()
    {
        var objectTypes = new[] { "Provisioning.Core.Testbeds.Testbed", "Provisioning.Core.Testbeds.AgentMachine", "Provisioning.Core.Journal.ExperimentRun" };
        var workFirst = new List<string>();
        foreach (var c in module.CmdletTypes)
        foreach (var set in c.ParameterSets)
        {
            var members = c.InSet(set).ToList();
            foreach (var (parameter, settings) in members.Where(m => m.Set.ValueFromPipeline))
            {
                var type = parameter.Type.IsArray ? parameter.Type.GetElementType()! : parameter.Type;
                if (!objectTypes.Contains(type.FullName)) continue;
                if (settings.Position == 0) continue;
                // The work: a mandatory parameter (a command, a path), or what comes first (process names, as Get-Process's -Name).
                var work = members.Where(m => m.Parameter != parameter && !m.Set.ValueFromPipeline && (m.Set.Mandatory || m.Set.Position == 0))
                    .OrderBy(m => m.Set.Position ?? int.MaxValue).FirstOrDefault();
                Assert.True(work.Parameter is not null,
                    $"{c.Name} [{set}]: -{parameter.Name} takes {type.Name} from the pipeline but is not position 0, and no mandatory work parameter comes first");
                workFirst.Add($"{c.Name} {work.Parameter!.Name}");
            }
        }
        Assert.Equal(
            new[]
            {
                "Get-AgentPackage Name", "Get-AgentProcess Name", "Get-ExperimentResult Path", "Install-AgentPackage Name", "Install-AgentPackage Path", "Invoke-Provision Path", "Invoke-Provision Task", "Invoke-RemoteCommand Command", "Invoke-RemoteCommand ScriptPath",
                "Receive-AgentFile Path", "Receive-AgentProcessOutput Name", "Save-AgentPackage Name", "Send-AgentFile Path", "Set-AgentVariable Name",
                "Set-AgentVariable Variable", "Start-AgentProcess Name", "Stop-AgentProcess Name", "Uninstall-AgentPackage Name", "Wait-AgentProcess Name",
            },
            workFirst.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Parameter_names_and_aliases_are_unique_and_do_not_shadow_common_parameters()
    {
        Assert.All(module.CmdletTypes, c =>
        {
            var names = c.Parameters.SelectMany(p => p.Aliases.Prepend(p.Name)).ToList();
            var duplicates = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key);
            Assert.Empty(duplicates);
            Assert.Empty(names.Intersect(CommonParameters, StringComparer.OrdinalIgnoreCase));
        });
    }

    [Fact]
    public void Cmdlets_that_remove_or_run_things_support_WhatIf()
    {
        var mustConfirm = new[] { "Remove", "Invoke", "Stop", "Clear", "Reset", "Uninstall", "Unregister", "Send" };
        Assert.All(module.CmdletTypes.Where(c => mustConfirm.Contains(c.Verb)), c => Assert.True(c.SupportsShouldProcess, $"{c.Name} must support -WhatIf/-Confirm"));
    }

    [Fact]
    public void Machine_parameters_take_machines_from_the_pipeline()
    {
        foreach (var c in module.CmdletTypes.Where(c => c.Name is "Invoke-RemoteCommand" or "Set-AgentVariable" or "Test-AgentMachine"))
        {
            var input = c.Parameters.Single(p => p.Name == "InputObject");
            Assert.Equal("Provisioning.Core.Testbeds.AgentMachine[]", input.Type.FullName);
            Assert.All(input.Sets, s => Assert.True(s.ValueFromPipeline && s.ValueFromPipelineByPropertyName, $"{c.Name} -InputObject"));
            Assert.Contains("Machine", input.Aliases);
        }
    }

    [Fact]
    public void Get_AgentMachine_binds_names_from_results_and_journal_records()
    {
        var getAgentMachine = module.CmdletTypes.Single(c => c.Name == "Get-AgentMachine");
        var name = getAgentMachine.Parameters.Single(p => p.Name == "Name");
        Assert.All(name.Sets, s => Assert.True(s.ValueFromPipelineByPropertyName));
        Assert.Superset(new HashSet<string> { "Machine", "MachineName", "HostName" }, name.Aliases.ToHashSet());
        Assert.Equal(3, name.Aliases.Count);

        // The objects users pipe back in must expose a string Name (or a Machine that converts to its name).
        foreach (var typeName in new[]
                 {
                     "Provisioning.Core.Testbeds.AgentMachine", "Provisioning.Core.RemoteCommands.RemoteCommandResult",
                     "Provisioning.Core.Journal.StepRecord", "Provisioning.Core.Reachability.AgentMachineStatus",
                 })
        {
            var type = module.Core.GetType(typeName, throwOnError: true)!;
            Assert.Equal("System.String", type.GetProperty("Name")!.PropertyType.FullName);
        }
    }

    [Fact]
    public void The_manifest_exports_exactly_the_cmdlets_and_no_wildcards()
    {
        var manifest = File.ReadAllText(Path.Combine(module.RepositoryRoot, "Provisioning.psd1"));
        var exported = Regex.Match(manifest, @"CmdletsToExport\s*=\s*@\(([^)]*)\)").Groups[1].Value;
        var names = Regex.Matches(exported, "'([^']+)'").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(module.CmdletTypes.Select(c => c.Name).Order(), names.Order());

        foreach (Match export in Regex.Matches(manifest, @"(\w+)ToExport\s*=\s*(@\([^)]*\)|'[^']*')"))
            Assert.DoesNotContain("*", export.Groups[2].Value);
        Assert.Matches(@"FunctionsToExport\s*=\s*@\(\)", manifest);
        Assert.Matches(@"RootModule\s*=\s*'Provisioning.dll'", manifest);
    }

    private static IEnumerable<Type> BaseTypes(Type type)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType) yield return t;
    }
}
