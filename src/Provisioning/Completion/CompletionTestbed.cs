using System.Collections;
using System.Management.Automation;
using Provisioning.Core.Testbeds;
using Provisioning.Session;

namespace Provisioning.Completion;

/// <summary>The testbed a completion is about: the -Testbed already typed (when PowerShell could evaluate it), else the current one.</summary>
internal static class CompletionTestbed
{
    /// <summary>The testbed, or null when none is loaded.</summary>
    public static Testbed? From(IDictionary? fakeBoundParameters)
    {
        var bound = fakeBoundParameters?["Testbed"];
        var value = bound is PSObject wrapped ? wrapped.BaseObject : bound;
        return value switch
        {
            Testbed testbed => testbed,
            string name => TestbedRegistry.Find(name).LastOrDefault() ?? TestbedRegistry.Current,
            _ => TestbedRegistry.Current,
        };
    }
}
