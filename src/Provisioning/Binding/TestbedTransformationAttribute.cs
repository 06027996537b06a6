using System.Management.Automation;
using Provisioning.Session;

namespace Provisioning.Binding;

/// <summary>
/// Lets a -Testbed parameter take a loaded testbed's name as well as the object: <c>-Testbed lab</c> means the
/// newest loaded testbed named <c>lab</c>.
/// </summary>
public sealed class TestbedTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>Converts a name to the loaded testbed; leaves anything else as it is.</summary>
    /// <param name="engineIntrinsics">Unused.</param>
    /// <param name="inputData">The bound value.</param>
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is not string name) return inputData;
        return TestbedRegistry.Find(name).LastOrDefault()
            ?? throw new ArgumentTransformationMetadataException($"No testbed named '{name}' is loaded. Get-Testbed lists the loaded ones.");
    }
}
