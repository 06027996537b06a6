using System.Collections;
using System.Management.Automation;
using Provisioning.Core.Testbeds;
using Provisioning.Session;

namespace Provisioning.Binding;

/// <summary>
/// Lets a machine parameter take names as well as machines: a string (wildcards allowed) becomes the matching
/// machines of the current testbed, so <c>Invoke-RemoteCommand -InputObject node1,node2 'hostname'</c> works.
/// Any other value passes through untouched for normal binding.
/// </summary>
public sealed class AgentMachineTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>Converts names to machines; leaves anything else as it is.</summary>
    /// <param name="engineIntrinsics">Unused.</param>
    /// <param name="inputData">The bound value: a machine, a name, or an array of them.</param>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        switch (value)
        {
            case string name:
                return Resolve(name).ToArray();
            case IEnumerable items when value is not AgentMachine:
                var list = items.Cast<object?>().Select(i => i is PSObject p ? p.BaseObject : i).ToList();
                if (!list.Any(i => i is string)) return inputData;
                var machines = new List<AgentMachine>();
                foreach (var item in list)
                {
                    switch (item)
                    {
                        case AgentMachine machine: machines.Add(machine); break;
                        case string text: machines.AddRange(Resolve(text)); break;
                        default: return inputData;
                    }
                }
                return machines.ToArray();
            default:
                return inputData;
        }
    }

    private static IEnumerable<AgentMachine> Resolve(string name)
    {
        var testbed = TestbedRegistry.Current
            ?? throw new ArgumentTransformationMetadataException(
                $"Cannot find machine '{name}': no testbed is loaded. Run New-Testbed first, or pipe machines from Get-AgentMachine.");
        var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
        var found = testbed.Machines.Where(m => pattern.IsMatch(m.Name)).ToArray();
        if (found.Length == 0)
            throw new ArgumentTransformationMetadataException($"Testbed '{testbed.Name}' has no machine named '{name}'.");
        return found;
    }
}
