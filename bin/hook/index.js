// Example pre-provisioning hook: AWS IoT calls it before provisioning a device
// and provisions only when it answers allowProvisioning: true.
exports.handler = async (event) => {
  const serial = (event.parameters && event.parameters.SerialNumber) || '';
  const allowProvisioning = /^[A-Z0-9]{8,16}$/.test(serial);
  console.log(JSON.stringify({ templateArn: event.templateArn, serial, allowProvisioning }));
  return { allowProvisioning };
};
