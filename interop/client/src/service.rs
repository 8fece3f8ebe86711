//! The `MLSClient` gRPC service: each RPC locks the [`Store`] and runs its plain function.

use crate::proto::mls_client_server::MlsClient;
use crate::proto::*;
use crate::state::Store;
use cohort::crypto::CipherSuite;
use cohort::messages::{Proposal, ProtocolVersion, ReInit};
use std::sync::{Mutex, MutexGuard};
use tonic::{Request, Response, Status};

/// Cohort's `MLSClient`: all state of one client process behind one lock (the harness
/// drives a client one RPC at a time).
#[derive(Default)]
pub struct Service {
    store: Mutex<Store>,
}

impl Service {
    fn store(&self) -> Result<MutexGuard<'_, Store>, Status> {
        self.store
            .lock()
            .map_err(|_| Status::internal("an earlier RPC panicked"))
    }

    fn reinit_proposal_of(&self, r: ReInitProposalRequest) -> Result<ProposalResponse, Status> {
        let proposal = Proposal::ReInit(ReInit {
            group_id: cohort::codec::Bytes(r.group_id),
            version: ProtocolVersion::MLS10,
            cipher_suite: crate::wire::suite(r.cipher_suite)?.id(),
            extensions: crate::wire::extensions(&r.extensions)?,
        });
        self.store()?.propose(r.state_id, proposal)
    }

    fn described_proposal(
        &self,
        state_id: u32,
        d: ProposalDescription,
    ) -> Result<ProposalResponse, Status> {
        let mut store = self.store()?;
        let proposal = store.described(state_id, &d)?;
        store.propose(state_id, proposal)
    }
}

/// The RPCs that are one call of a [`Store`] function of the same name.
macro_rules! store_rpcs {
    ($( $rpc:ident($req:ty) -> $resp:ty => $f:ident; )*) => {
        #[tonic::async_trait]
        impl MlsClient for Service {
            $(
                async fn $rpc(&self, r: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.store()?.$f(r.into_inner()).map(Response::new)
                }
            )*

            async fn name(&self, _: Request<NameRequest>) -> Result<Response<NameResponse>, Status> {
                Ok(Response::new(NameResponse {
                    name: format!("Cohort {}", env!("CARGO_PKG_VERSION")),
                }))
            }

            async fn supported_ciphersuites(
                &self,
                _: Request<SupportedCiphersuitesRequest>,
            ) -> Result<Response<SupportedCiphersuitesResponse>, Status> {
                Ok(Response::new(SupportedCiphersuitesResponse {
                    ciphersuites: CipherSuite::ALL.iter().map(|s| u32::from(s.0)).collect(),
                }))
            }

            async fn add_proposal(
                &self,
                r: Request<AddProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                let r = r.into_inner();
                let d = ProposalDescription {
                    proposal_type: b"add".to_vec(),
                    key_package: r.key_package,
                    ..ProposalDescription::default()
                };
                self.described_proposal(r.state_id, d).map(Response::new)
            }

            async fn update_proposal(
                &self,
                r: Request<UpdateProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                self.store()?.update_proposal(r.into_inner().state_id).map(Response::new)
            }

            async fn remove_proposal(
                &self,
                r: Request<RemoveProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                let r = r.into_inner();
                let d = ProposalDescription {
                    proposal_type: b"remove".to_vec(),
                    removed_id: r.removed_id,
                    ..ProposalDescription::default()
                };
                self.described_proposal(r.state_id, d).map(Response::new)
            }

            async fn external_psk_proposal(
                &self,
                r: Request<ExternalPskProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                let r = r.into_inner();
                let d = ProposalDescription {
                    proposal_type: b"externalPSK".to_vec(),
                    psk_id: r.psk_id,
                    ..ProposalDescription::default()
                };
                self.described_proposal(r.state_id, d).map(Response::new)
            }

            async fn resumption_psk_proposal(
                &self,
                r: Request<ResumptionPskProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                let r = r.into_inner();
                let d = ProposalDescription {
                    proposal_type: b"resumptionPSK".to_vec(),
                    epoch_id: r.epoch_id,
                    ..ProposalDescription::default()
                };
                self.described_proposal(r.state_id, d).map(Response::new)
            }

            async fn group_context_extensions_proposal(
                &self,
                r: Request<GroupContextExtensionsProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                let r = r.into_inner();
                let d = ProposalDescription {
                    proposal_type: b"groupContextExtensions".to_vec(),
                    extensions: r.extensions,
                    ..ProposalDescription::default()
                };
                self.described_proposal(r.state_id, d).map(Response::new)
            }

            async fn re_init_proposal(
                &self,
                r: Request<ReInitProposalRequest>,
            ) -> Result<Response<ProposalResponse>, Status> {
                self.reinit_proposal_of(r.into_inner()).map(Response::new)
            }
        }
    };
}

store_rpcs! {
    create_group(CreateGroupRequest) -> CreateGroupResponse => create_group;
    create_key_package(CreateKeyPackageRequest) -> CreateKeyPackageResponse => create_key_package;
    join_group(JoinGroupRequest) -> JoinGroupResponse => join_group;
    external_join(ExternalJoinRequest) -> ExternalJoinResponse => external_join;
    group_info(GroupInfoRequest) -> GroupInfoResponse => group_info;
    state_auth(StateAuthRequest) -> StateAuthResponse => state_auth;
    export(ExportRequest) -> ExportResponse => export;
    protect(ProtectRequest) -> ProtectResponse => protect;
    unprotect(UnprotectRequest) -> UnprotectResponse => unprotect;
    store_psk(StorePskRequest) -> StorePskResponse => store_psk;
    commit(CommitRequest) -> CommitResponse => commit;
    handle_commit(HandleCommitRequest) -> HandleCommitResponse => handle_commit;
    handle_pending_commit(HandlePendingCommitRequest) -> HandleCommitResponse => handle_pending_commit;
    re_init_commit(CommitRequest) -> CommitResponse => commit;
    handle_pending_re_init_commit(HandlePendingCommitRequest) -> HandleReInitCommitResponse => handle_pending_reinit_commit;
    handle_re_init_commit(HandleCommitRequest) -> HandleReInitCommitResponse => handle_reinit_commit;
    re_init_welcome(ReInitWelcomeRequest) -> CreateSubgroupResponse => reinit_welcome;
    handle_re_init_welcome(HandleReInitWelcomeRequest) -> JoinGroupResponse => handle_reinit_welcome;
    create_branch(CreateBranchRequest) -> CreateSubgroupResponse => create_branch;
    handle_branch(HandleBranchRequest) -> HandleBranchResponse => handle_branch;
    new_member_add_proposal(NewMemberAddProposalRequest) -> NewMemberAddProposalResponse => new_member_add_proposal;
    create_external_signer(CreateExternalSignerRequest) -> CreateExternalSignerResponse => create_external_signer;
    add_external_signer(AddExternalSignerRequest) -> ProposalResponse => add_external_signer;
    external_signer_proposal(ExternalSignerProposalRequest) -> ProposalResponse => external_signer_proposal;
    free(FreeRequest) -> FreeResponse => free;
}
