// pass_policy.cc - PASS for everyone.
#include "filterd/pass_policy.h"

namespace moat::filterd {

Decision ClassifyFindings(const std::vector<Finding>& findings) {
  Decision decision;
  for (const Finding& finding : findings) {
    if (finding.content_class > decision.content_class) {
      decision.content_class = finding.content_class;
      decision.subclass = finding.subclass;
      decision.reason.clear();
    }
    if (finding.content_class == decision.content_class &&
        finding.content_class != ContentClass::kClean) {
      if (!decision.reason.empty()) decision.reason += ", ";
      decision.reason += finding.name;
    }
  }
  return decision;
}

Decision PassAllPolicy::Decide(const MessageContext& context) const {
  Decision decision = ClassifyFindings(context.findings);
  decision.recipients.assign(context.envelope.recipients.size(), RecipientDecision{});
  return decision;
}

}  // namespace moat::filterd
